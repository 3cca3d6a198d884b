package dev.cerebrasproxy.forward;

import dev.cerebrasproxy.pool.Demand;

/**
 * What a request will cost its budget, estimated from its body the way Cerebras admits
 * it before any work: prompt characters / 4, plus {@code max_completion_tokens} (or
 * {@code max_tokens}), or the configured default maximum when the request sets neither.
 * From the body's one JSON pass ({@link BodyScan}). A body that is not JSON in
 * identity coding (gzip, msgpack) names no model the proxy can see: it costs the default
 * maximum and uses the organization's general state.
 */
final class CostEstimate
{
    private CostEstimate()
    {
    }

    /**
     * @param body the request's body, or null for none
     * @param contentEncoding the request's {@code Content-Encoding}, or null
     * @param defaultMaxCompletion the completion's maximum when the request names none
     */
    static Demand of(RequestBody body, String contentEncoding, long defaultMaxCompletion)
    {
        if (body == null || body.length() == 0)
            return Demand.NONE;
        if (contentEncoding != null && !contentEncoding.isBlank() && !contentEncoding.strip().equalsIgnoreCase("identity"))
            return new Demand(null, defaultMaxCompletion);
        BodyScan scan = body.scan();
        if (!scan.object)
            return new Demand(null, defaultMaxCompletion);
        // Upstream will say what is wrong with a broken body; the proxy only could not estimate it.
        if (scan.failed)
            return new Demand(scan.model, defaultMaxCompletion);
        long completion = scan.maxCompletionTokens >= 0 ? scan.maxCompletionTokens : scan.maxTokens >= 0 ? scan.maxTokens : defaultMaxCompletion;
        return new Demand(scan.model, (scan.promptChars + 3) / 4 + completion);
    }
}
