package dev.cerebrasproxy.pool;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableSet;
import java.util.TreeSet;

/**
 * Organizations the operator did not declare together but that Cerebras counts as one:
 * learnt from the {@code x-ratelimit-remaining-requests-day} every served answer reports
 * for its (organization, model).
 *
 * <p>Cerebras counts requests per day with one counter per organization and model, and
 * each request it serves takes that counter down by one, so the values its answers
 * report are distinct and consecutive. An organization alone reports a run without
 * gaps. Two organizations that are one counter report values that interleave: where
 * their runs overlap, one's values fall exactly in the other's gaps, none twice, and
 * together they fill the range. That test needs no order of answers (concurrent answers
 * overtake one another) and no clock. Two organizations apart cannot pass it: a run
 * without gaps leaves the other nothing to fill, and the same value reported by both
 * says they are two counters. A third party using one organization's keys outside the
 * pool leaves gaps the other does not fill: no conclusion, never a wrong one.
 *
 * <p>Only values from answers upstream counted (2xx) are used: a 429 reports the counter
 * unchanged, which would look like the same value twice. Requests per day are the one
 * window whose count moves only by requests; tokens per minute refill continuously.
 *
 * <p>Once concluded, the later-named organization (and whatever had joined it) draws on
 * the earlier one's budgets from then on, until a {@link #clear} (the pool's reset).
 */
final class SharedOrganizations
{
    /**
     * Values each organization must report within the overlap of two runs before they are
     * taken for one. Two organizations apart whose counts both have gaps (others use their
     * keys too) could fill each other's by chance: with half of each count's values
     * missing, 2 x 6 values fit by chance once in 4,096 looks.
     */
    static final int EVIDENCE = 6;
    /** The newest values kept per (organization, model): enough to see runs interleave, bounded. */
    static final int WINDOW = 64;

    /**
     * What the pool concluded: {@code joined} draws on {@code organization}'s budgets.
     *
     * @param model the budget whose reported counts showed it
     * @param interleaved the values the two reported within their overlap
     */
    record Conclusion(String organization, String joined, String model, int interleaved, Instant at)
    {
    }

    private record Id(String organization, String model)
    {
    }

    /** Declared organization to the organization it was found to be part of; replaced whole, read without a lock. */
    private volatile Map<String, String> joinedInto = Map.of();
    private final Map<Id, TreeSet<Long>> reported = new HashMap<>();
    private final List<Conclusion> conclusions = new ArrayList<>();

    /** The organization whose budgets keys declared in {@code organization} draw on. */
    String resolve(String organization)
    {
        Map<String, String> joined = joinedInto;
        String resolved = organization;
        for (String next = joined.get(resolved); next != null; next = joined.get(resolved))
            resolved = next;
        return resolved;
    }

    /**
     * A served answer with a key of {@code organization} reported this many requests left
     * today for the model.
     *
     * @return what the pool now concludes, or null when nothing new
     */
    synchronized Conclusion observe(String organization, String model, long remaining, Instant now)
    {
        String org = resolve(organization);
        TreeSet<Long> values = reported.computeIfAbsent(new Id(org, model), id -> new TreeSet<>());
        // Far above what it held: the day was reset, and the old values are another day's.
        if (!values.isEmpty() && remaining > values.last() + WINDOW)
            values.clear();
        values.add(remaining);
        // The newest values are the smallest: the counter only falls.
        while (values.size() > WINDOW)
            values.pollLast();
        for (Map.Entry<Id, TreeSet<Long>> other : reported.entrySet())
        {
            Id id = other.getKey();
            if (id.organization().equals(org) || !id.model().equals(model))
                continue;
            int interleaved = interleaved(values, other.getValue());
            if (interleaved > 0)
                return join(org, id.organization(), model, interleaved, now);
        }
        return null;
    }

    /**
     * The values both reported within the overlap of their runs, when those show one
     * counter: each reported at least {@link #EVIDENCE} there, no value twice, no gap
     * left. Otherwise 0.
     */
    static int interleaved(NavigableSet<Long> one, NavigableSet<Long> other)
    {
        if (one.isEmpty() || other.isEmpty())
            return 0;
        long low = Math.max(one.first(), other.first());
        long high = Math.min(one.last(), other.last());
        if (low > high)
            return 0;
        NavigableSet<Long> mine = one.subSet(low, true, high, true);
        NavigableSet<Long> theirs = other.subSet(low, true, high, true);
        if (mine.size() < EVIDENCE || theirs.size() < EVIDENCE || mine.size() + theirs.size() != high - low + 1)
            return 0;
        for (Long value : mine)
        {
            if (theirs.contains(value))
                return 0;
        }
        return mine.size() + theirs.size();
    }

    private Conclusion join(String a, String b, String model, int interleaved, Instant now)
    {
        String into = a.compareTo(b) <= 0 ? a : b;
        String joined = into.equals(a) ? b : a;
        Map<String, String> next = new HashMap<>(joinedInto);
        next.put(joined, into);
        joinedInto = Map.copyOf(next);
        // What the joined one reported is the same counter's: keep it with the organization's own.
        for (Id id : List.copyOf(reported.keySet()))
        {
            if (id.organization().equals(joined))
                reported.computeIfAbsent(new Id(into, id.model()), x -> new TreeSet<>()).addAll(reported.remove(id));
        }
        Conclusion conclusion = new Conclusion(into, joined, model, interleaved, now);
        conclusions.add(conclusion);
        return conclusion;
    }

    /** What the pool has concluded so far, oldest first. */
    synchronized List<Conclusion> conclusions()
    {
        return List.copyOf(conclusions);
    }

    synchronized void clear()
    {
        joinedInto = Map.of();
        reported.clear();
        conclusions.clear();
    }
}
