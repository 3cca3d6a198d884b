package dev.cerebrasproxy.forward;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

import dev.cerebrasproxy.pool.ApiKey;
import dev.cerebrasproxy.pool.KeyPool;
import dev.cerebrasproxy.pool.Rotation;
import dev.cerebrasproxy.pool.KeyState;

/**
 * The keys one request has tried and what each attempt came to, and how long the request
 * may still wait for a key. Used by one attempt at a time, so it needs no lock.
 */
final class Attempts
{
    private static final String UNREACHABLE = "unreachable";
    /**
     * How many times a request goes again with the same key when its connection failed
     * before the request went out on it. Over h2 one failed connect fails every request
     * waiting for that connection (up to a connection's worth of streams), none of which
     * upstream saw; past this many, the key counts as unreachable for the request.
     */
    static final int RECONNECTS = 2;

    private final Rotation rotation;
    /** Failed attempts by what happened ("answered 429", "unreachable"); allocated on the first failure. */
    private Map<String, Integer> failures;
    /** Keys that answered 500 and are not blamed yet; allocated on the first. */
    private List<Suspect> suspects;
    private byte[] lastServerError;
    private int lastSuspectStatus;
    /** Set when the request first waits for a key: it never waits past this. */
    private Instant waitDeadline;
    private int reconnects;


    Attempts(Rotation rotation)
    {
        this.rotation = rotation;
    }

    /** The next key to try, or null when none this request has not tried can serve now. */
    ApiKey next()
    {
        return rotation.next();
    }

    /** The replicas' answer for the key {@link #next} gave. */
    java.util.concurrent.CompletionStage<dev.cerebrasproxy.pool.Admission> admission()
    {
        return rotation.admission();
    }

    /** The replicas admitted the key {@link #next} gave: it goes. */
    void admitted(dev.cerebrasproxy.pool.Admission admission)
    {
        rotation.admitted(admission);
    }

    /** The replicas refused the key {@link #next} gave: it may be chosen again once its budget has room. */
    void refused(Instant until)
    {
        rotation.refused(until);
    }

    dev.cerebrasproxy.pool.Demand demand()
    {
        return rotation.demand();
    }

    /** The attempt under way has its answer: its budget's reservation ends (upstream's own count takes over). */
    void release()
    {
        rotation.release();
    }

    int count()
    {
        return rotation.attempts();
    }

    /** An attempt that upstream answered with a status about the key. */
    void answered(int status)
    {
        failed("answered " + status);
    }

    /** A key that answered this request 500 or 403, not yet blamed: see {@link #suspect}. */
    record Suspect(ApiKey key, int status, String code)
    {
    }

    /**
     * An attempt answered 500. Whether that was about the key or about the request is known
     * only later: if another key serves the request, the key is to blame
     * ({@link #takeSuspects}); if every key answers 500, the request is ({@link #answerOfEveryKey}).
     *
     * @param body upstream's answer, decoded, or null if it could not be
     */
    void suspect(ApiKey key, int status, String code, byte[] body)
    {
        answered(status);
        if (suspects == null)
            suspects = new ArrayList<>();
        suspects.add(new Suspect(key, status, code));
        lastServerError = body;
        lastSuspectStatus = status;
    }

    /** The status every key answered, when {@link #answerOfEveryKey} is not null. */
    int statusOfEveryKey()
    {
        return lastSuspectStatus;
    }

    /** The keys that answered 500 before another served: each is to blame. Empty the second time. */
    List<Suspect> takeSuspects()
    {
        List<Suspect> taken = suspects == null ? List.of() : suspects;
        suspects = null;
        return taken;
    }

    /**
     * Upstream's 500 when every key answered this request with a 500 and none is left: a
     * failure the same request meets on every key is about the request, so the client gets
     * it as upstream said it and no key is benched. Null otherwise.
     */
    byte[] answerOfEveryKey()
    {
        if (rotation.hasUntriedKeys() || failures == null || failures.size() != 1 || !failures.containsKey("answered " + lastSuspectStatus))
            return null;
        return lastServerError != null ? lastServerError : "{}".getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    /**
     * How recently a key must have served another request for a failure this request met
     * on it to count as the request's. Short: two keys that broke together a moment ago
     * (a failing shard) while a third still works must not pass their 500 to a client the
     * third could serve; past this they count only if they served again meanwhile.
     */
    static final Duration SERVING_RECENTLY = Duration.ofSeconds(10);

    /**
     * Upstream's answer when this request has met the same failure (500, or 403 for its
     * model) on two keys that each served other requests within {@link #SERVING_RECENTLY}:
     * the failure follows the request, not the keys, so the client gets it as upstream
     * said it, no key is benched and no more keys are spent on it. Null otherwise (then
     * the other keys decide, as before: another key serving blames the suspects; every key
     * failing alike passes it on, {@link #answerOfEveryKey}).
     */
    byte[] answerOfTwoServingKeys(KeyPool pool)
    {
        if (suspects == null || suspects.size() < 2)
            return null;
        Instant since = pool.now().minus(SERVING_RECENTLY);
        int alike = 0;
        for (Suspect suspect : suspects)
        {
            if (suspect.status() == lastSuspectStatus && pool.servedSince(suspect.key(), since))
                alike++;
        }
        if (alike < 2)
            return null;
        suspects = null; // nothing to blame
        return lastServerError != null ? lastServerError : "{}".getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    /**
     * The key of the attempt whose connection failed before the request went out on it,
     * to send again on another connection (see {@link #RECONNECTS}); null once the request
     * has done so as often as it may.
     */
    ApiKey again()
    {
        if (reconnects >= RECONNECTS)
            return null;
        reconnects++;
        return rotation.again();
    }

    /** An attempt that got no answer at all: refused, or closed before a response byte. */
    void unreachable()
    {
        failed(UNREACHABLE);
    }

    private void failed(String outcome)
    {
        if (failures == null)
            failures = new TreeMap<>();
        failures.merge(outcome, 1, Integer::sum);
    }

    /** True when every key was tried and none got an answer: upstream itself is down, not the keys. */
    boolean upstreamIsDown()
    {
        return failures != null && failures.size() == 1 && failures.containsKey(UNREACHABLE) && !rotation.hasUntriedKeys();
    }

    /** How long until any key can serve this request, or null if none ever can. */
    Duration untilAnyKeyRecovers()
    {
        return rotation.untilAnyKeyRecovers();
    }

    /** The largest limit when the request is above every budget's whole limit, else -1. */
    long limitEveryBudgetIsBelow()
    {
        return rotation.limitEveryBudgetIsBelow();
    }

    /** How long until a key this request has not tried can serve, or null if it tried them all. */
    Duration untilAnUntriedKeyRecovers()
    {
        return rotation.untilAnUntriedKeyRecovers();
    }

    /**
     * Whether the request may wait {@code wait} for a key to recover. All its waits together
     * stay within {@code grace} of the first, so a request never waits longer than that however
     * often the key it waited for is taken by another request first.
     */
    boolean mayWait(Instant now, Duration wait, Duration grace)
    {
        if (waitDeadline == null)
            waitDeadline = now.plus(grace);
        return !wait.isNegative() && !now.plus(wait).isAfter(waitDeadline);
    }

    /** E.g. "3 tried: 2 answered 429, 1 answered 500" or "none tried: 2 cooling, 1 quarantined". */
    String summary()
    {
        int tried = rotation.attempts();
        StringBuilder why = new StringBuilder();
        why.append(tried == 0 ? "none" : Integer.toString(tried)).append(" tried");
        if (tried > 0)
            why.append(": ").append(failures == null ? "none failed"
                : failures.entrySet().stream().map(entry -> entry.getValue() + " " + entry.getKey()).collect(Collectors.joining(", ")));
        List<KeyState> untried = rotation.untriedStates();
        if (!untried.isEmpty())
        {
            Map<KeyState, Long> byState = new TreeMap<>(untried.stream().collect(Collectors.groupingBy(s -> s, Collectors.counting())));
            why.append(tried > 0 ? "; others " : ": ").append(byState.entrySet().stream()
                .map(entry -> entry.getValue() + " " + entry.getKey().label())
                .collect(Collectors.joining(", ")));
        }
        return why.toString();
    }
}
