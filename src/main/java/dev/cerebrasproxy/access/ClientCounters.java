package dev.cerebrasproxy.access;

import java.util.concurrent.CompletionStage;

/**
 * Where each client's counts live, by client name. Every method is one atomic step on one
 * client's counts, so a shared store (Redis, one script per method) can implement it and
 * replicas then hold a client to one limit between them. The windows are given as numbers
 * (the epoch minute and the epoch day, UTC) so the rules decide the windows and the store
 * only compares and adds; a count from an older window than the one given is void, so a
 * store may expire a window's counts once it has passed (a minute's after two minutes, a
 * day's after two days).
 *
 * <p>The steps that count answer later ({@link CompletionStage}) so a store across the
 * network is asked without a request holding a thread while it waits; the in-memory store
 * answers at once. A store's stage always completes, and never exceptionally: a store that
 * cannot reach its backend answers from memory instead.
 */
public interface ClientCounters
{
    /** Why a client's request was refused. */
    enum Over
    {
        REQUESTS_PER_MINUTE, TOKENS_PER_MINUTE, TOKENS_PER_DAY
    }

    /** A client's counts in the given windows. */
    record Use(long requestsThisMinute, long tokensThisMinute, long tokensToday)
    {
        public static final Use NONE = new Use(0, 0, 0);
    }

    /**
     * What an admitted request holds until its answer says what it used.
     *
     * @param tokens the tokens held in the minute's count for it
     */
    record Reservation(long minute, long day, long tokens)
    {
    }

    /**
     * The outcome of one {@link #tryAdmit}: {@code over} is null when the request was counted.
     *
     * @param use the counts after it (or as they stand, when refused)
     */
    record Outcome(Over over, Reservation reservation, Use use)
    {
    }

    /**
     * In one atomic step: refuses if the day's real usage has reached the day's limit, or the
     * minute's requests the requests limit, or if {@code estimate} does not fit the minute's
     * tokens; otherwise counts the request and holds {@code estimate} in the minute's tokens.
     * An estimate larger than the whole minute's limit is held as that limit: such a request
     * is admitted into an empty minute rather than never.
     */
    CompletionStage<Outcome> tryAdmit(String client, ClientLimits limits, long estimate, long minute, long day);

    /**
     * The answer used {@code tokens}: the minute's count holds that instead of the
     * reservation (if the reservation's minute is still the current one), and the day's
     * count, which only real usage reaches, grows by it.
     */
    CompletionStage<Void> settle(String client, Reservation reservation, long tokens, long minute, long day);

    /**
     * The client's counts in these windows (zero for a client never seen), as this replica
     * knows them now, without waiting on any store: for the status page and for the
     * headers of a refusal that counts nothing.
     */
    Use use(String client, long minute, long day);
}
