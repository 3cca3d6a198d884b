package dev.cerebrasproxy.ops;

import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;

/**
 * What each key and each client has used: requests, errors and tokens, by name (never a
 * key's or a token's value). Counting is lock-free; reading gives immutable records for
 * the operations endpoints. It knows nothing of HTTP: {@link ProxyMetrics} says what happened.
 */
public final class UsageLedger
{
    /** One key's or one client's totals at one moment. */
    public record Usage(String name, long requests, long errors, long promptTokens, long completionTokens, String lastError)
    {
        public long totalTokens()
        {
            return promptTokens + completionTokens;
        }
    }

    private static final class Counters
    {
        final LongAdder requests = new LongAdder();
        final LongAdder errors = new LongAdder();
        final LongAdder promptTokens = new LongAdder();
        final LongAdder completionTokens = new LongAdder();
        final AtomicReference<String> lastError = new AtomicReference<>();

        Usage read(String name)
        {
            return new Usage(name, requests.sum(), errors.sum(), promptTokens.sum(), completionTokens.sum(), lastError.get());
        }
    }

    private final ConcurrentMap<String, Counters> keys = new ConcurrentHashMap<>();
    private final ConcurrentMap<String, Counters> clients = new ConcurrentHashMap<>();
    /** The model of the day's requests that upstream did not serve, whatever they named. */
    public static final String NOT_SERVED = "(not served)";
    /** Requests and tokens by UTC day, client and model, since start. */
    private final ConcurrentMap<DayUse.Key, Counters> byDay = new ConcurrentHashMap<>();

    /**
     * One client's use of one model on one UTC day.
     *
     * @param model the model the requests named, or "-" for those that named none
     */
    public record DayUse(String day, String client, String model, long requests, long tokens)
    {
        record Key(String day, String client, String model)
        {
        }
    }

    /** A request answered with {@code status} using this key (may be null) for this client (may be null). */
    public void answered(String key, String client, int status)
    {
        count(keys, key, status);
        count(clients, client, status);
    }

    /** An upstream error against a key, e.g. its error code, for the key's "last error". */
    public void keyError(String key, String error)
    {
        if (key != null && error != null)
            keys.computeIfAbsent(key, k -> new Counters()).lastError.set(error);
    }

    /** Tokens a completion used, as its {@code usage} reported them. */
    public void tokens(String key, String client, long promptTokens, long completionTokens)
    {
        addTokens(keys, key, promptTokens, completionTokens);
        addTokens(clients, client, promptTokens, completionTokens);
    }

    /** An admitted request ended; its answer's usage reported {@code tokens} (0 when it reported none). */
    public void usedModel(Instant now, String client, String model, long tokens)
    {
        if (client == null)
            return;
        String day = LocalDate.ofInstant(now, ZoneOffset.UTC).toString();
        Counters counters = byDay.computeIfAbsent(new DayUse.Key(day, client, model == null ? "-" : model), k -> new Counters());
        counters.requests.increment();
        counters.promptTokens.add(Math.max(0, tokens)); // all of the answer's tokens: this table does not split them
    }

    /** Each day's use by client and model since start, newest day first. */
    public List<DayUse> byDayClientAndModel()
    {
        List<DayUse> all = new ArrayList<>(byDay.size());
        byDay.forEach((key, counters) -> all.add(new DayUse(key.day(), key.client(), key.model(), counters.requests.sum(), counters.promptTokens.sum())));
        all.sort(Comparator.comparing(DayUse::day).reversed().thenComparing(DayUse::client).thenComparing(DayUse::model));
        return all;
    }

    public List<Usage> byKey()
    {
        return read(keys);
    }

    public List<Usage> byClient()
    {
        return read(clients);
    }

    private static void count(ConcurrentMap<String, Counters> map, String name, int status)
    {
        if (name == null)
            return;
        Counters counters = map.computeIfAbsent(name, k -> new Counters());
        counters.requests.increment();
        if (status >= 400)
        {
            counters.errors.increment();
            counters.lastError.set("HTTP " + status);
        }
    }

    private static void addTokens(ConcurrentMap<String, Counters> map, String name, long prompt, long completion)
    {
        if (name == null)
            return;
        Counters counters = map.computeIfAbsent(name, k -> new Counters());
        counters.promptTokens.add(Math.max(0, prompt));
        counters.completionTokens.add(Math.max(0, completion));
    }

    private static List<Usage> read(ConcurrentMap<String, Counters> map)
    {
        List<Usage> all = new ArrayList<>(map.size());
        map.forEach((name, counters) -> all.add(counters.read(name)));
        all.sort(Comparator.comparing(Usage::name));
        return all;
    }
}
