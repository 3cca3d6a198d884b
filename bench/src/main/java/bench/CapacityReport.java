package bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

/**
 * Prints {@link CapacityLoad}'s results side by side, each figure with what it means.
 * Usage: {@code CapacityReport result.json...}.
 *
 * <ul>
 * <li><b>goodput</b> = answered / allowed. answered: 2xx answers complete within the
 * interval T, over all clients. allowed: Σ over every (organization, model) budget of
 * min(limit × windows T touches, for each request window; ⌊(capacity + refill(T) −
 * estimate) / cost⌋ + 1, for each token bucket), the budgets full at the start
 * (the simulator's {@code /_simulator/allowed}).</li>
 * <li><b>wasted upstream calls</b> = upstream 429s / upstream chat completion calls, as
 * the simulator counted them over the whole run.</li>
 * <li><b>fairness</b>: client i's answered / its max-min fair share f_i of the allowed
 * total C given the demands d (requests each client sent in T): the water-filling
 * allocation, f_i = min(d_i, level) with level such that Σ f_i = C (every client
 * gets its whole demand if Σ d ≤ C).</li>
 * </ul>
 */
public final class CapacityReport
{
    private CapacityReport()
    {
    }

    public static void main(String[] args) throws Exception
    {
        List<JsonObject> results = new ArrayList<>();
        for (String file : args)
            results.add(JsonParser.parseString(Files.readString(Path.of(file))).getAsJsonObject());
        JsonObject first = results.get(0);
        JsonObject clients = first.getAsJsonObject("clients");
        double scale = first.get("time_scale").getAsDouble();
        StringBuilder weights = new StringBuilder();
        for (Map.Entry<String, JsonElement> client : clients.entrySet())
            weights.append(weights.length() == 0 ? "" : ":").append(fmt("%.0f", client.getValue().getAsJsonObject().get("weight").getAsDouble()));
        System.out.println(fmt("Capacity: %d keys in %d organizations, %d models; %d clients sending %s; offered %.2fx what the limits allow for %.0f s; "
                + "%.0f%% streams; simulated time x%s (a Cerebras minute lasts %.1f s)",
            first.get("keys").getAsInt(), first.get("organizations").getAsInt(), first.getAsJsonObject("shapes").size(), clients.size(), weights,
            first.get("load").getAsDouble(), first.get("seconds").getAsDouble(), 100 * first.get("stream_fraction").getAsDouble(),
            trim(scale), 60 / scale));
        System.out.println();

        List<Map<String, String>> columns = new ArrayList<>();
        for (JsonObject result : results)
            columns.add(figures(result));
        List<String> rows = new ArrayList<>(columns.get(0).keySet());
        int labelWidth = rows.stream().mapToInt(String::length).max().orElse(10);
        StringBuilder header = new StringBuilder(pad("", labelWidth));
        StringBuilder rule = new StringBuilder("-".repeat(labelWidth));
        for (JsonObject result : results)
        {
            header.append(" | ").append(pad(result.get("label").getAsString(), 24));
            rule.append("-|-").append("-".repeat(24));
        }
        header.append(" | target");
        rule.append("-|-------");
        System.out.println(header);
        System.out.println(rule);
        Map<String, String> targets = Map.of("goodput", ">= 0.95", "wasted upstream calls", "<= 2%", "fairness, worst client", ">= 0.80");
        for (String row : rows)
        {
            StringBuilder line = new StringBuilder(pad(row, labelWidth));
            for (Map<String, String> column : columns)
                line.append(" | ").append(pad(column.getOrDefault(row, ""), 24));
            line.append(" | ").append(targets.getOrDefault(row, ""));
            System.out.println(line);
        }
        System.out.println();
        System.out.println("""
            goodput = answered / allowed. answered: 2xx answers complete (a stream up to data: [DONE]) within the interval,
              all clients. allowed: the sum over every (organization, model) budget of the least of, for each request window
              (per minute, per day), limit x the windows the interval touches, and, for each token bucket (per minute),
              floor((capacity + refill over the interval - estimate) / cost) + 1; every budget full at the start.
              estimate = prompt tokens (characters / 4) + max_completion_tokens; cost = prompt + completion tokens answered.
              The interval starts as a simulated minute starts and ends just before one, so it touches only whole windows.
            wasted upstream calls = 429 answers (any code) / chat completion calls, as the simulator counted them.
            fairness = a client's answered / its max-min fair share of the allowed total given what each client sent
              (water-filling: each gets min(sent, level), level set so the shares add up to allowed).
            Clients are told apart on the load generator's side (the seed has no client tokens; main gets one per client).
            A machine load above its cores means other work competed for the CPU: latencies, and with them the figures,
              are disturbed; compare runs on a quiet machine.""");
        for (JsonObject result : results)
        {
            System.out.println();
            System.out.println(result.get("label").getAsString() + ": per client and per budget");
            perClient(result);
            perBudget(result);
        }
    }

    private static Map<String, String> figures(JsonObject result)
    {
        Map<String, String> rows = new LinkedHashMap<>();
        long allowed = result.getAsJsonObject("allowed").get("total").getAsLong();
        long answered = 0;
        long sent = 0;
        long late = 0;
        for (Map.Entry<String, JsonElement> client : result.getAsJsonObject("clients").entrySet())
        {
            answered += client.getValue().getAsJsonObject().get("answered").getAsLong();
            sent += client.getValue().getAsJsonObject().get("sent").getAsLong();
            late += client.getValue().getAsJsonObject().get("late").getAsLong();
        }
        JsonObject total = result.getAsJsonObject("simulator").getAsJsonObject("total");
        long calls = total.get("calls").getAsLong();
        long tooMany = total.get("too_many_requests").getAsLong();
        Map<String, Double> ratios = fairness(result, allowed);
        double worst = ratios.values().stream().mapToDouble(Double::doubleValue).min().orElse(0);
        rows.put("goodput", fmt("%.3f (%d / %d)", answered / (double)allowed, answered, allowed));
        rows.put("wasted upstream calls", fmt("%.1f%% (%d / %d)", calls == 0 ? 0 : 100.0 * tooMany / calls, tooMany, calls));
        rows.put("fairness, worst client", fmt("%.2f", worst));
        for (Map.Entry<String, Double> ratio : ratios.entrySet())
            rows.put("  fairness, " + ratio.getKey(), fmt("%.2f", ratio.getValue()));
        rows.put("requests sent", Long.toString(sent));
        rows.put("late 2xx (after the interval)", Long.toString(late));
        rows.put("upstream calls per answer", fmt("%.2f", answered == 0 ? 0 : calls / (double)answered));
        JsonObject byCode = total.getAsJsonObject("by_code");
        for (String code : new String[] {"request_quota_exceeded", "token_quota_exceeded", "queue_exceeded"})
            rows.put("  upstream " + code, Long.toString(byCode.has(code) ? byCode.get(code).getAsLong() : 0));
        Map<String, Long> statuses = new java.util.TreeMap<>();
        for (Map.Entry<String, JsonElement> client : result.getAsJsonObject("clients").entrySet())
        {
            for (Map.Entry<String, JsonElement> status : client.getValue().getAsJsonObject().getAsJsonObject("by_status").entrySet())
                statuses.merge(status.getKey(), status.getValue().getAsLong(), Long::sum);
        }
        StringBuilder seen = new StringBuilder();
        statuses.forEach((status, n) -> seen.append(seen.length() == 0 ? "" : " ").append(status).append(":").append(n));
        rows.put("client-side statuses", seen.toString());
        rows.put("machine load (1-min average, end)", result.has("load_average")
            ? fmt("%.1f on %d cores", result.get("load_average").getAsDouble(), result.get("cores").getAsInt()) : "-");
        if (result.get("abandoned").getAsLong() > 0)
            rows.put("abandoned unanswered", result.get("abandoned").getAsString());
        return rows;
    }

    /** Each client's answered / max-min fair share of {@code capacity} given what it sent. */
    static Map<String, Double> fairness(JsonObject result, long capacity)
    {
        Map<String, Long> demands = new LinkedHashMap<>();
        Map<String, Long> answered = new LinkedHashMap<>();
        for (Map.Entry<String, JsonElement> client : result.getAsJsonObject("clients").entrySet())
        {
            demands.put(client.getKey(), client.getValue().getAsJsonObject().get("sent").getAsLong());
            answered.put(client.getKey(), client.getValue().getAsJsonObject().get("answered").getAsLong());
        }
        Map<String, Double> shares = fairShares(demands, capacity);
        Map<String, Double> ratios = new LinkedHashMap<>();
        shares.forEach((name, share) -> ratios.put(name, share == 0 ? 1 : answered.get(name) / share));
        return ratios;
    }

    /** Max-min fair shares (water-filling): the smallest demands are met whole, the rest split what remains evenly. */
    static Map<String, Double> fairShares(Map<String, Long> demands, double capacity)
    {
        List<Map.Entry<String, Long>> ascending = new ArrayList<>(demands.entrySet());
        ascending.sort(Map.Entry.comparingByValue());
        Map<String, Double> shares = new LinkedHashMap<>();
        double left = capacity;
        for (int i = 0; i < ascending.size(); i++)
        {
            double even = left / (ascending.size() - i);
            double share = Math.min(ascending.get(i).getValue(), even);
            shares.put(ascending.get(i).getKey(), share);
            left -= share;
        }
        Map<String, Double> inOrder = new LinkedHashMap<>();
        demands.keySet().forEach(name -> inOrder.put(name, shares.get(name)));
        return inOrder;
    }

    private static void perClient(JsonObject result)
    {
        long allowed = result.getAsJsonObject("allowed").get("total").getAsLong();
        Map<String, Long> demands = new LinkedHashMap<>();
        for (Map.Entry<String, JsonElement> client : result.getAsJsonObject("clients").entrySet())
            demands.put(client.getKey(), client.getValue().getAsJsonObject().get("sent").getAsLong());
        Map<String, Double> shares = fairShares(demands, allowed);
        System.out.println(fmt("  %-10s %6s %6s %9s %8s %9s %9s  %s", "client", "weight", "sent", "fair share", "answered", "p50 ms", "p99 ms", "statuses"));
        for (Map.Entry<String, JsonElement> entry : result.getAsJsonObject("clients").entrySet())
        {
            JsonObject client = entry.getValue().getAsJsonObject();
            StringBuilder statuses = new StringBuilder();
            for (Map.Entry<String, JsonElement> status : client.getAsJsonObject("by_status").entrySet())
                statuses.append(statuses.length() == 0 ? "" : " ").append(status.getKey()).append(":").append(status.getValue().getAsLong());
            System.out.println(fmt("  %-10s %6.0f %6d %10.1f %8d %9.1f %9.1f  %s", entry.getKey(), client.get("weight").getAsDouble(),
                client.get("sent").getAsLong(), shares.get(entry.getKey()), client.get("answered").getAsLong(),
                client.get("p50_ms").getAsDouble(), client.get("p99_ms").getAsDouble(), statuses));
        }
    }

    private static void perBudget(JsonObject result)
    {
        JsonObject allowed = result.getAsJsonObject("allowed").getAsJsonObject("budgets");
        JsonObject budgets = result.getAsJsonObject("simulator").getAsJsonObject("budgets");
        System.out.println(fmt("  %-8s %-14s %8s %9s %9s %6s %6s  %s", "org", "model", "allowed", "admitted", "answered", "429s", "calls", "limits (rpm tpm rpd)"));
        for (Map.Entry<String, JsonElement> organization : budgets.entrySet())
        {
            for (Map.Entry<String, JsonElement> model : organization.getValue().getAsJsonObject().entrySet())
            {
                JsonObject budget = model.getValue().getAsJsonObject();
                JsonObject limits = budget.getAsJsonObject("limits");
                JsonObject ofOrganization = allowed.getAsJsonObject(organization.getKey());
                String allowedHere = ofOrganization != null && ofOrganization.has(model.getKey()) ? ofOrganization.get(model.getKey()).getAsString() : "-";
                System.out.println(fmt("  %-8s %-14s %8s %9d %9d %6d %6d  %d %d %d", organization.getKey(), model.getKey(), allowedHere,
                    budget.get("admitted").getAsLong(), budget.get("answered").getAsLong(), budget.get("too_many_requests").getAsLong(),
                    budget.get("calls").getAsLong(), limits.get("requests_per_minute").getAsLong(), limits.get("tokens_per_minute").getAsLong(),
                    limits.get("requests_per_day").getAsLong()));
            }
        }
        System.out.println("  (admitted, answered, 429s and calls over the whole run, the drain after the interval included)");
        byWindow(result, allowed);
    }

    /** Each budget's admitted requests in each simulated minute of the interval: where it fell short of its limit. */
    private static void byWindow(JsonObject result, JsonObject allowed)
    {
        if (!result.has("simulator_by_window"))
            return;
        com.google.gson.JsonArray windows = result.getAsJsonArray("simulator_by_window");
        if (windows.isEmpty())
            return;
        JsonObject budgets = result.getAsJsonObject("simulator").getAsJsonObject("budgets");
        System.out.println(fmt("  %-8s %-14s %8s %9s  %s", "org", "model", "allowed", "in it", "admitted in each minute of the interval"));
        for (Map.Entry<String, JsonElement> organization : budgets.entrySet())
        {
            for (String model : organization.getValue().getAsJsonObject().keySet())
            {
                StringBuilder each = new StringBuilder();
                long before = 0;
                for (JsonElement window : windows)
                {
                    JsonObject ofOrganization = window.getAsJsonObject().getAsJsonObject(organization.getKey());
                    long admitted = ofOrganization == null || !ofOrganization.has(model) ? before
                        : ofOrganization.getAsJsonObject(model).get("admitted").getAsLong();
                    each.append(fmt(" %4d", admitted - before));
                    before = admitted;
                }
                JsonObject ofOrganization = allowed.getAsJsonObject(organization.getKey());
                String allowedHere = ofOrganization != null && ofOrganization.has(model) ? ofOrganization.get(model).getAsString() : "-";
                System.out.println(fmt("  %-8s %-14s %8s %9d  %s", organization.getKey(), model, allowedHere, before, each));
            }
        }
    }

    private static String trim(double value)
    {
        return value == Math.rint(value) ? Long.toString((long)value) : Double.toString(value);
    }

    private static String pad(String text, int width)
    {
        return text.length() >= width ? text : text + " ".repeat(width - text.length());
    }

    private static String fmt(String format, Object... args)
    {
        return String.format(Locale.ROOT, format, args);
    }
}
