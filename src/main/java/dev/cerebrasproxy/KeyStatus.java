package dev.cerebrasproxy;

/** Whether a key takes part in rotation right now. */
public enum KeyStatus
{
    /** In rotation: requests may use it. */
    AVAILABLE,
    /** Out of rotation until a known moment: rate limited, out of quota, or failing. */
    COOLING,
    /** Out of rotation because upstream refused it (invalid, unpaid, forbidden) until a re-check passes. */
    QUARANTINED
}
