package dev.cerebrasproxy.pool;

import java.time.Instant;

/**
 * One (organization, model) budget as the pool saw it at one moment, for the status page,
 * metrics and tests.
 *
 * @param model the model, or {@code "*"} for the organization's general state (requests
 * that name no model, such as {@code GET /v1/models})
 * @param restUntil when the budget takes requests again, or null if it takes them now
 * @param lastError what upstream last said against it, or null
 * @param tokenLimit tokens per minute as upstream reported, or -1 while unknown
 * @param tokensLeft tokens estimated to be left now (reported, refilled, less reservations), or -1 while unknown
 * @param inFlight requests sent with it whose answer has not come yet
 * @param learntRequestLimit requests per window learnt from its 429s (Cerebras sends no header for them), or -1
 */
public record BudgetSnapshot(String organization, String model, Instant restUntil, String lastError, long tokenLimit, long tokensLeft, int inFlight, int learntRequestLimit)
{
}
