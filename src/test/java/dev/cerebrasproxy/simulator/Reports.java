package dev.cerebrasproxy.simulator;

import java.time.Instant;
import java.util.Map;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * The simulator's own endpoints, for a benchmark that runs it as a separate process
 * (outside {@code /v1}, so no proxy forwards a client there). They name keys, never
 * show their values.
 * <ul>
 * <li>{@code GET /_simulator/stats}: the records ({@link Counts}) in total, per key and
 * per (organization, model) budget, with each budget's limits, the origin and the time
 * scale.</li>
 * <li>{@code POST /_simulator/allowed} with
 * {@code {"from_ms":…,"to_ms":…,"requests":{"<model>":{"estimate":E,"cost":C},…}}}:
 * what each budget of those models allowed between the two real instants
 * ({@link CerebrasSimulator#allowed}), per budget, per model and in total.</li>
 * </ul>
 */
final class Reports
{
    private final CerebrasSimulator simulator;

    Reports(CerebrasSimulator simulator)
    {
        this.simulator = simulator;
    }

    boolean handle(String path, String method, Request request, Response response, Callback callback)
    {
        if (path.equals("/_simulator/stats") && method.equals("GET"))
        {
            SimulatorHandler.send(response, callback, 200, "application/json", Map.of(), stats().toString());
            return true;
        }
        if (path.equals("/_simulator/allowed") && method.equals("POST"))
        {
            Content.Source.asStringAsync(request, java.nio.charset.StandardCharsets.UTF_8).whenComplete((body, failure) ->
            {
                try
                {
                    if (failure != null)
                        throw new IllegalArgumentException("the body could not be read");
                    SimulatorHandler.send(response, callback, 200, "application/json", Map.of(), allowed(body).toString());
                }
                catch (RuntimeException e)
                {
                    SimulatorHandler.send(response, callback, 400, "application/json", Map.of(),
                        Answers.error("Bad allowance query: " + e.getMessage(), "invalid_request_error", "body", "invalid_body"));
                }
            });
            return true;
        }
        SimulatorHandler.send(response, callback, 404, "application/json", Map.of(),
            Answers.error("The simulator's endpoints are GET /_simulator/stats and POST /_simulator/allowed.", "not_found_error", "", "not_found"));
        return true;
    }

    JsonObject stats()
    {
        JsonObject stats = new JsonObject();
        stats.addProperty("origin_ms", simulator.origin().toEpochMilli());
        stats.addProperty("time_scale", simulator.timeScale());
        stats.add("total", json(simulator.counts()));
        JsonObject keys = new JsonObject();
        simulator.keys().forEach((name, organization) ->
        {
            JsonObject key = json(simulator.countsForKey(name));
            key.addProperty("organization", organization);
            keys.add(name, key);
        });
        stats.add("keys", keys);
        JsonObject budgets = new JsonObject();
        for (String organization : simulator.organizations())
        {
            JsonObject ofOrganization = new JsonObject();
            for (Model model : simulator.models())
            {
                JsonObject budget = json(simulator.countsFor(organization, model.name()));
                budget.add("limits", SimulatorConfig.json(simulator.limits(organization, model.name())));
                ofOrganization.add(model.name(), budget);
            }
            budgets.add(organization, ofOrganization);
        }
        stats.add("budgets", budgets);
        return stats;
    }

    static JsonObject json(Counts counts)
    {
        JsonObject json = new JsonObject();
        json.addProperty("calls", counts.calls());
        json.addProperty("admitted", counts.admitted());
        json.addProperty("answered", counts.answered());
        json.addProperty("too_many_requests", counts.tooManyRequests());
        JsonObject byCode = new JsonObject();
        counts.byCode().forEach(byCode::addProperty);
        json.add("by_code", byCode);
        JsonObject byStatus = new JsonObject();
        counts.byStatus().forEach((status, n) -> byStatus.addProperty(Integer.toString(status), n));
        json.add("by_status", byStatus);
        json.addProperty("tokens_charged", counts.tokensCharged());
        return json;
    }

    JsonObject allowed(String body)
    {
        JsonElement parsed = JsonParser.parseString(body);
        if (!parsed.isJsonObject())
            throw new IllegalArgumentException("the body must be a JSON object");
        JsonObject query = parsed.getAsJsonObject();
        Instant from = Instant.ofEpochMilli(query.get("from_ms").getAsLong());
        Instant to = Instant.ofEpochMilli(query.get("to_ms").getAsLong());
        JsonObject requests = query.getAsJsonObject("requests");
        JsonObject answer = new JsonObject();
        JsonObject budgets = new JsonObject();
        JsonObject byModel = new JsonObject();
        long total = 0;
        for (Map.Entry<String, JsonElement> entry : requests.entrySet())
        {
            String model = entry.getKey();
            long estimate = entry.getValue().getAsJsonObject().get("estimate").getAsLong();
            long cost = entry.getValue().getAsJsonObject().get("cost").getAsLong();
            long ofModel = 0;
            for (String organization : simulator.organizations())
            {
                long allowed = simulator.allowed(organization, model, from, to, estimate, cost);
                JsonObject ofOrganization = budgets.has(organization) ? budgets.getAsJsonObject(organization) : new JsonObject();
                ofOrganization.addProperty(model, allowed);
                budgets.add(organization, ofOrganization);
                ofModel += allowed;
            }
            byModel.addProperty(model, ofModel);
            total += ofModel;
        }
        answer.add("budgets", budgets);
        answer.add("by_model", byModel);
        answer.addProperty("total", total);
        return answer;
    }
}
