package dev.cerebrasproxy.pool;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * Every (organization, model) budget the pool has met, made on first use. Kept apart from
 * the keys so that a reload of the keys file keeps them: a budget belongs to an
 * organization at Cerebras, not to one key of the pool.
 */
final class Budgets
{
    /** The model of requests that name none (or not as a string): the organization's general state. */
    static final String GENERAL = "*";

    private record Id(String organization, String model)
    {
    }

    private final ConcurrentMap<Id, Budget> budgets = new ConcurrentHashMap<>();
    private final Duration minute;
    /** Organizations found to be one, which then draw on one organization's budgets. */
    private final SharedOrganizations shared = new SharedOrganizations();

    /** @param minute the window a requests-per-minute limit counts over (a minute at Cerebras) */
    Budgets(Duration minute)
    {
        this.minute = minute;
    }

    Budget of(String organization, String model)
    {
        String m = model == null || model.isBlank() ? GENERAL : model;
        return budgets.computeIfAbsent(new Id(shared.resolve(organization), m), id -> new Budget(id.organization(), id.model(), minute));
    }

    /** The organization whose budgets the keys declared in {@code organization} draw on. */
    String organizationOf(String organization)
    {
        return shared.resolve(organization);
    }

    /**
     * A served answer with a key of {@code organization} reported this many requests left
     * today for the model (see {@link SharedOrganizations}). When that shows two
     * organizations to be one, the joined one's budgets are dropped: its keys draw on the
     * other's from now on.
     *
     * @return what the pool concluded, or null when nothing new
     */
    SharedOrganizations.Conclusion requestsLeftToday(String organization, String model, long remaining, Instant now)
    {
        String m = model == null || model.isBlank() ? GENERAL : model;
        SharedOrganizations.Conclusion concluded = shared.observe(organization, m, remaining, now);
        if (concluded == null)
            return null;
        for (Id id : List.copyOf(budgets.keySet()))
        {
            if (!id.organization().equals(concluded.joined()))
                continue;
            // A rest the joined budget was in holds for the one count (with the limit it learnt).
            BudgetSnapshot known = budgets.remove(id).snapshot(now);
            if (known.restUntil() != null)
                of(concluded.organization(), id.model()).heardRest(now, known.restUntil(), known.lastError(), known.learntRequestLimit());
        }
        return concluded;
    }

    List<SharedOrganizations.Conclusion> sharedOrganizations()
    {
        return shared.conclusions();
    }

    /** The budgets of one organization, for a key's own snapshot. */
    List<Budget> ofOrganization(String organization)
    {
        List<Budget> found = new ArrayList<>();
        for (Budget budget : budgets.values())
        {
            if (budget.organization.equals(shared.resolve(organization)))
                found.add(budget);
        }
        return found;
    }

    Iterable<Budget> all()
    {
        return budgets.values();
    }

    void clear()
    {
        budgets.clear();
        shared.clear();
    }

    List<BudgetSnapshot> snapshot(Instant now)
    {
        List<BudgetSnapshot> all = new ArrayList<>();
        for (Budget budget : budgets.values())
            all.add(budget.snapshot(now));
        all.sort(Comparator.comparing(BudgetSnapshot::organization).thenComparing(BudgetSnapshot::model));
        return List.copyOf(all);
    }
}
