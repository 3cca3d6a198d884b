package dev.cerebrasproxy.simulator;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A Cerebras organization: its keys share one budget per model. Keys have names (used in
 * the records, in faults and in the simulator's reports, so a key's value never has to be
 * printed) and secret values (what requests carry in {@code Authorization: Bearer}).
 */
public final class Organization
{
    private final String name;
    private final Map<String, String> secretsByName = new LinkedHashMap<>();
    private final Map<String, Limits> limitsByModel = new LinkedHashMap<>();

    private Organization(String name)
    {
        if (name == null || name.isBlank())
            throw new IllegalArgumentException("an organization needs a name");
        this.name = name;
    }

    public static Organization named(String name)
    {
        return new Organization(name);
    }

    public Organization key(String keyName, String secret)
    {
        if (keyName == null || keyName.isBlank() || secret == null || secret.isBlank())
            throw new IllegalArgumentException("organization " + name + ": a key needs a name and a value");
        if (secretsByName.putIfAbsent(keyName, secret) != null)
            throw new IllegalArgumentException("organization " + name + " has two keys named " + keyName);
        return this;
    }

    /** This organization's own limits for one model, instead of the model's. */
    public Organization limits(String model, Limits limits)
    {
        limitsByModel.put(model, limits);
        return this;
    }

    public String name()
    {
        return name;
    }

    Map<String, String> secretsByName()
    {
        return secretsByName;
    }

    Limits limitsFor(Model model)
    {
        return limitsByModel.getOrDefault(model.name(), model.limits());
    }

    Map<String, Limits> limitOverrides()
    {
        return limitsByModel;
    }
}
