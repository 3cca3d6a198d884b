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

    /** @param minute the window a requests-per-minute limit counts over (a minute at Cerebras) */
    Budgets(Duration minute)
    {
        this.minute = minute;
    }

    Budget of(String organization, String model)
    {
        String m = model == null || model.isBlank() ? GENERAL : model;
        return budgets.computeIfAbsent(new Id(organization, m), id -> new Budget(id.organization(), id.model(), minute));
    }

    /** The budgets of one organization, for a key's own snapshot. */
    List<Budget> ofOrganization(String organization)
    {
        List<Budget> found = new ArrayList<>();
        for (Budget budget : budgets.values())
        {
            if (budget.organization.equals(organization))
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
