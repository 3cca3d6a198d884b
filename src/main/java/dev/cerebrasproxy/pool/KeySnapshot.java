package dev.cerebrasproxy.pool;

import java.time.Instant;

/**
 * One key's state as the pool saw it at one moment, for operations endpoints and tests.
 * Holds the key's name only, never its value.
 *
 * @param organization whose budgets the key draws on (its own name unless configured)
 * @param until when a cooling key returns to rotation, or when a quarantined key is
 * re-checked next; null for an available key
 * @param lastError what upstream last said against this key (an error code such as
 * {@code request_quota_exceeded}), or null if it never failed
 * @param requests upstream attempts made with this key
 * @param failures attempts whose answer counted against the key (429, 500, 401, 402, 403)
 */
public record KeySnapshot(String name, String organization, KeyState state, Instant until, String lastError, long requests, long failures)
{
}
