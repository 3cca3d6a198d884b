package dev.cerebrasproxy.pool;

import java.time.Instant;

/**
 * The replicas' answer to one attempt ({@link Replicas#admit}).
 *
 * @param roomAt null when the attempt may go; else when its budget has room again
 * @param sentBefore how many attempts of every replica the budget's window held before this
 * one (-1 when not asked): what a request 429 for it teaches as the limit
 * @param ticket the attempt's name in the shared window, to take it out if upstream refuses
 * it (a refused request counts against nothing); null when not asked
 */
public record Admission(Instant roomAt, int sentBefore, String ticket)
{
    /** Go, as a replica alone answers. */
    public static final Admission GO = new Admission(null, -1, null);

    public static Admission refusedUntil(Instant roomAt)
    {
        return new Admission(roomAt, -1, null);
    }

    public boolean admitted()
    {
        return roomAt == null;
    }
}
