package dev.cerebrasproxy.forward;

/**
 * What the client's limits need of a request body: the model it names and the tokens it
 * may use, from the body's one JSON pass ({@link BodyScan}). A body that is not a JSON object in identity
 * coding (gzip, msgpack), or that names its model twice (upstream might honour the other
 * one), is unreadable: a client held to a list of models cannot send one.
 *
 * @param model the model named, or null when the body names none (or there is no body)
 * @param estimate the prompt's bytes / 4 (a token is about four characters of English),
 * plus max_completion_tokens or max_tokens, or {@link #DEFAULT_COMPLETION_ESTIMATE}
 * when it sets neither; 0 without a body
 */
record RequestFacts(String model, long estimate, boolean readable)
{
    /** Held for a completion whose request sets no maximum; the answer's usage then settles it. */
    static final long DEFAULT_COMPLETION_ESTIMATE = 1024;
    static final RequestFacts NO_BODY = new RequestFacts(null, 0, true);

    static RequestFacts of(RequestBody body, String contentEncoding)
    {
        if (body == null || body.length() == 0)
            return NO_BODY;
        long promptEstimate = (body.length() + 3L) / 4;
        if (!ContentCoding.isIdentity(contentEncoding))
            return unreadable(promptEstimate);
        BodyScan scan = body.scan();
        if (!scan.object || scan.failed || scan.modelInDoubt)
            return unreadable(promptEstimate);
        return new RequestFacts(scan.model, promptEstimate + (scan.largestMaximum >= 0 ? scan.largestMaximum : DEFAULT_COMPLETION_ESTIMATE), true);
    }

    private static RequestFacts unreadable(long promptEstimate)
    {
        return new RequestFacts(null, promptEstimate + DEFAULT_COMPLETION_ESTIMATE, false);
    }
}
