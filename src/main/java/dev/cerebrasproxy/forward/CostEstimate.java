package dev.cerebrasproxy.forward;

import dev.cerebrasproxy.pool.Demand;

/** What a request will cost its budget: {@link RequestFacts}'s estimate (kept until the call reads its body's facts once). */
final class CostEstimate
{
    private CostEstimate()
    {
    }

    static Demand of(RequestBody body, String contentEncoding, long defaultMaxCompletion)
    {
        return RequestFacts.of(body, contentEncoding).demand(defaultMaxCompletion);
    }
}
