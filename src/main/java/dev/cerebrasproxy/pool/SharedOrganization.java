package dev.cerebrasproxy.pool;

import java.time.Instant;
import java.util.List;

/**
 * What the pool concluded from upstream's reports: keys the operator did not declare in
 * one organization are one at Cerebras, and draw on one budget per model since. Names
 * only, never a key's value.
 *
 * @param organization the organization whose budgets they all draw on now
 * @param keys the pool's keys of that organization besides the joined ones
 * @param joined the declared organization found to be part of it
 * @param joinedKeys the pool's keys declared in {@code joined}
 * @param model the model whose reported requests per day showed it
 * @param interleaved how many of the two's reported counts interleaved as one
 * @param at when the pool concluded it
 */
public record SharedOrganization(String organization, List<String> keys, String joined, List<String> joinedKeys, String model, int interleaved, Instant at)
{
}
