package dev.cerebrasproxy.simulator;

import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * A key's scripted misbehaviour, drawn once per chat completion that reaches it (after
 * authentication and model lookup, before admission: a faulted call spends no budget).
 * Set with {@link CerebrasSimulator#fault(String, Fault)}.
 */
public final class Fault
{
    /** The failures Cerebras answers with, each in its flat error shape. */
    public enum Kind
    {
        SERVER_ERROR(500, "Internal server error.", "server_error", "", "internal_server_error"),
        SERVICE_UNAVAILABLE(503, "Service temporarily unavailable.", "server_error", "", "service_unavailable"),
        PAYMENT_REQUIRED(402, "Payment required: the organization has no credit left.", "payment_required_error", "", "payment_required"),
        FORBIDDEN(403, "This key has no access to this model.", "permission_denied_error", "", "permission_denied"),
        WRONG_API_KEY(401, "Wrong API Key", "invalid_request_error", "api_key", "wrong_api_key"),
        /** Cerebras's own capacity, not the key's quota. */
        QUEUE_EXCEEDED(429, "We're experiencing high traffic right now! Please try again soon.", "too_many_requests_error", "queue", "queue_exceeded");

        final int status;
        final String message;
        final String type;
        final String param;
        final String code;

        Kind(int status, String message, String type, String param, String code)
        {
            this.status = status;
            this.message = message;
            this.type = type;
            this.param = param;
            this.code = code;
        }

        public int status()
        {
            return status;
        }

        public String code()
        {
            return code;
        }
    }

    private final Kind always;
    private final double probability;
    private final Random random;
    private final List<Kind> script;
    private int next;

    private Fault(Kind always, double probability, Random random, List<Kind> script)
    {
        this.always = always;
        this.probability = probability;
        this.random = random;
        this.script = script;
    }

    /** Every call fails this way. */
    public static Fault always(Kind kind)
    {
        return new Fault(kind, 1, null, null);
    }

    /** Each call fails this way with this probability, drawn from a generator seeded with {@code seed}. */
    public static Fault sometimes(Kind kind, double probability, long seed)
    {
        if (!(probability >= 0 && probability <= 1))
            throw new IllegalArgumentException("a probability is between 0 and 1, not " + probability);
        return new Fault(kind, probability, new Random(seed), null);
    }

    /**
     * The next calls, one each, in order: a kind fails the call that way, null lets it be
     * answered normally. Calls after the script are answered normally.
     */
    public static Fault next(Kind... kinds)
    {
        return new Fault(null, 0, null, Arrays.asList(kinds.clone()));
    }

    /** @return how this call fails, or null when it is answered normally */
    synchronized Kind draw()
    {
        if (script != null)
            return next < script.size() ? script.get(next++) : null;
        if (random == null)
            return always;
        return random.nextDouble() < probability ? always : null;
    }
}
