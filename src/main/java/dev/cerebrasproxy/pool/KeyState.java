package dev.cerebrasproxy.pool;

import java.util.Locale;

/** Whether a key takes part in rotation right now. */
public enum KeyState
{
    /** In rotation: requests may use it. */
    AVAILABLE,
    /** Out of rotation until a known moment: rate limited, out of quota, or failing. */
    COOLING,
    /** Out of rotation because upstream refused it (invalid, unpaid, forbidden) until a re-check passes. */
    QUARANTINED;

    private final String label = name().toLowerCase(Locale.ROOT);

    /** The state as operators read it everywhere: in metrics labels, on the status page, in errors ("cooling"). */
    public String label()
    {
        return label;
    }
}
