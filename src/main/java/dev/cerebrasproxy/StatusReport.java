package dev.cerebrasproxy;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * What the status page shows, at one moment: each key's state and use, each client's
 * use. Names only, never a key's or a token's value. It knows nothing of HTTP or HTML,
 * so the page and its JSON twin show the same thing.
 *
 * @param clients each client's use, or null when this proxy keeps no usage ledger
 */
record StatusReport(List<KeyRow> keys, List<ClientRow> clients)
{
    /**
     * @param state available, cooling or quarantined
     * @param recovers when the key serves again, in words ("in 42 s", "re-check in 5 min"), or "" if it does now
     * @param tokens tokens used with this key, or null when no ledger counts them
     */
    record KeyRow(String name, String state, String recovers, long requests, long errors, Long tokens, String lastError)
    {
    }

    record ClientRow(String name, long requests, long errors, long tokens, String lastError)
    {
    }

    /** @param ledger may be null: then no tokens and no clients are known */
    static StatusReport of(KeyPool pool, UsageLedger ledger)
    {
        Instant now = pool.now();
        Map<String, UsageLedger.Usage> usageByKey = ledger == null ? Map.of()
            : ledger.byKey().stream().collect(Collectors.toMap(UsageLedger.Usage::name, Function.identity()));
        List<KeyRow> keys = pool.snapshot().stream().map(key ->
        {
            UsageLedger.Usage usage = usageByKey.get(key.name());
            Long tokens = ledger == null ? null : usage == null ? 0L : usage.totalTokens();
            return new KeyRow(key.name(), key.status().name().toLowerCase(Locale.ROOT), recovers(key, now), key.requests(), key.failures(), tokens,
                key.lastError() == null ? "" : key.lastError());
        }).toList();
        List<ClientRow> clients = ledger == null ? null : ledger.byClient().stream()
            .map(c -> new ClientRow(c.name(), c.requests(), c.errors(), c.totalTokens(), c.lastError() == null ? "" : c.lastError()))
            .toList();
        return new StatusReport(keys, clients);
    }

    private static String recovers(KeySnapshot key, Instant now)
    {
        if (key.status() == KeyStatus.AVAILABLE || key.until() == null)
            return "";
        String in = readable(Duration.between(now, key.until()));
        return key.status() == KeyStatus.QUARANTINED ? "re-check in " + in : "in " + in;
    }

    /** Whole seconds, rounded up so "in 0 s" never shows for a key that still rests: "42 s", "1 min 5 s", "5 min", "2 h 10 min". */
    static String readable(Duration duration)
    {
        long seconds = Math.max(0, (duration.toMillis() + 999) / 1000);
        if (seconds < 60)
            return seconds + " s";
        if (seconds < 3600)
            return seconds / 60 + " min" + (seconds % 60 == 0 ? "" : " " + seconds % 60 + " s");
        return seconds / 3600 + " h" + (seconds % 3600 / 60 == 0 ? "" : " " + seconds % 3600 / 60 + " min");
    }
}
