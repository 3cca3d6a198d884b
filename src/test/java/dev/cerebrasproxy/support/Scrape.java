package dev.cerebrasproxy.support;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A Prometheus text exposition, parsed into samples a test can look up by name and labels. */
public final class Scrape
{
    public record Sample(String name, Map<String, String> labels, double value)
    {
    }

    private static final Pattern SAMPLE = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\\{(.*)\\})? (\\S+)(?: \\d+)?$");
    private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\",?");

    public final String text;
    public final List<Sample> samples = new ArrayList<>();

    public Scrape(String text)
    {
        this.text = text;
        for (String line : text.split("\n"))
        {
            if (line.isBlank() || line.startsWith("#"))
                continue;
            Matcher m = SAMPLE.matcher(line);
            if (!m.matches())
                throw new AssertionError("not a sample line: " + line);
            Map<String, String> labels = new TreeMap<>();
            if (m.group(2) != null)
            {
                Matcher l = LABEL.matcher(m.group(2));
                while (l.find())
                    labels.put(l.group(1), l.group(2));
            }
            samples.add(new Sample(m.group(1), labels, Double.parseDouble(m.group(3))));
        }
    }

    /** The value of the one sample with this name and exactly these labels (name, value, ...), or null. */
    public Double value(String name, String... labels)
    {
        Map<String, String> wanted = new TreeMap<>();
        for (int i = 0; i + 1 < labels.length; i += 2)
            wanted.put(labels[i], labels[i + 1]);
        return samples.stream().filter(s -> s.name().equals(name) && s.labels().equals(wanted)).map(Sample::value).findFirst().orElse(null);
    }

    /** Like {@link #value} but fails, showing the whole scrape, when there is no such sample. */
    public double require(String name, String... labels)
    {
        Double value = value(name, labels);
        if (value == null)
            throw new AssertionError("no sample " + name + " " + String.join(",", labels) + " in:\n" + text);
        return value;
    }

    /** The sum over every sample of this name whose labels include these. */
    public double sum(String name, String... labels)
    {
        return samples.stream().filter(s -> s.name().equals(name)).filter(s ->
        {
            for (int i = 0; i + 1 < labels.length; i += 2)
            {
                if (!labels[i + 1].equals(s.labels().get(labels[i])))
                    return false;
            }
            return true;
        }).mapToDouble(Sample::value).sum();
    }
}
