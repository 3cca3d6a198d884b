package dev.cerebrasproxy.simulator;

import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * A stand-in for the Cerebras API that enforces its rate limits as Cerebras documents
 * them: organizations own keys and one budget per model, shared by all their keys;
 * requests per minute, hour and day in fixed windows; tokens per minute and hour in
 * buckets that refill continuously; admission by estimate before any work; the
 * documented headers and flat 429 bodies. It serves {@code POST /v1/chat/completions}
 * (JSON, or events with {@code "stream": true}) and {@code GET /v1/models} on loopback,
 * records what every key and budget was asked and charged, and can say how many
 * requests its limits allowed over an interval. Time comes from an {@link InstantSource}
 * (a test's manual clock) and may run faster than real time (a benchmark's "minute" can
 * last seconds). See {@code bench/README.md} for the model in full.
 *
 * <pre>{@code
 * try (CerebrasSimulator cerebras = CerebrasSimulator.builder()
 *         .model(Model.of("llama3.1-8b", Limits.of(30, 60_000, 14_400)))
 *         .organization(Organization.named("org-a").key("a1", "csk-a1-SECRET-x").key("a2", "csk-a2-SECRET-y"))
 *         .clock(clock)
 *         .build()
 *         .start())
 * {
 *     cerebras.fault("a2", Fault.next(Fault.Kind.SERVER_ERROR));
 *     ... call cerebras.baseUrl() + "/chat/completions" ...
 *     cerebras.countsFor("org-a", "llama3.1-8b").code("request_quota_exceeded");
 * }
 * }</pre>
 */
public final class CerebrasSimulator implements AutoCloseable
{
    /** One key: its name (what the records and faults use) and its organization. */
    record Key(String name, String organization)
    {
    }

    private final Map<String, Model> models;
    private final List<Model> modelList;
    /** By secret value: what a request's bearer token is looked up by. */
    private final Map<String, Key> keysBySecret;
    private final Map<String, Key> keysByName;
    private final Map<String, Map<String, Budget>> budgets;
    private final Map<String, Fault> faults = new ConcurrentHashMap<>();
    final SimTime time;
    final InstantSource clock;
    final Duration latency;
    final Duration eventDelay;
    final int streamChunks;
    /** Whether each 429 of a budget's quota is printed with the budget's state (the benchmark's record of wasted calls). */
    final boolean logRefusals;
    private final String host;
    private final int requestedPort;
    private final Counts.Tally total = new Counts.Tally();
    private final Map<String, Counts.Tally> byKey = new ConcurrentHashMap<>();
    private final Map<String, Counts.Tally> byBudget = new ConcurrentHashMap<>();
    private Server server;
    private ScheduledExecutorService pacer;
    private ServerConnector connector;

    private CerebrasSimulator(Builder builder)
    {
        if (builder.models.isEmpty())
            throw new IllegalArgumentException("the simulator needs at least one model");
        if (builder.organizations.isEmpty())
            throw new IllegalArgumentException("the simulator needs at least one organization");
        this.models = Map.copyOf(builder.models);
        this.modelList = List.copyOf(builder.models.values());
        Map<String, Key> bySecret = new LinkedHashMap<>();
        Map<String, Key> byName = new LinkedHashMap<>();
        Map<String, Map<String, Budget>> budgets = new LinkedHashMap<>();
        for (Organization organization : builder.organizations.values())
        {
            if (organization.secretsByName().isEmpty())
                throw new IllegalArgumentException("organization " + organization.name() + " has no keys");
            for (String model : organization.limitOverrides().keySet())
            {
                if (!models.containsKey(model))
                    throw new IllegalArgumentException("organization " + organization.name() + " sets limits for model " + model + ", which the simulator does not serve");
            }
            organization.secretsByName().forEach((name, secret) ->
            {
                Key key = new Key(name, organization.name());
                if (byName.putIfAbsent(name, key) != null)
                    throw new IllegalArgumentException("two keys are named " + name + ": key names must be unique");
                if (bySecret.putIfAbsent(secret, key) != null)
                    throw new IllegalArgumentException("keys " + bySecret.get(secret).name() + " and " + name + " have the same value");
            });
            Map<String, Budget> ofOrganization = new LinkedHashMap<>();
            for (Model model : builder.models.values())
                ofOrganization.put(model.name(), new Budget(organization.name(), model, organization.limitsFor(model)));
            budgets.put(organization.name(), ofOrganization);
        }
        this.keysBySecret = Map.copyOf(bySecret);
        this.keysByName = byName;
        this.budgets = budgets;
        this.clock = builder.clock;
        this.time = new SimTime(builder.clock, builder.timeScale);
        this.latency = builder.latency;
        this.eventDelay = builder.eventDelay;
        this.streamChunks = builder.streamChunks;
        this.logRefusals = builder.logRefusals;
        this.host = builder.host;
        this.requestedPort = builder.port;
    }

    public static Builder builder()
    {
        return new Builder();
    }

    /** Listens on the builder's host and port (loopback, an ephemeral port unless set). */
    public synchronized CerebrasSimulator start() throws Exception
    {
        if (server != null)
            throw new IllegalStateException("already started");
        QueuedThreadPool threads = new QueuedThreadPool(64, 4);
        threads.setName("cerebras-simulator");
        threads.setDaemon(true);
        server = new Server(threads);
        HttpConnectionFactory http = new HttpConnectionFactory();
        http.getHttpConfiguration().setSendServerVersion(false);
        connector = new ServerConnector(server, 1, 1, http);
        connector.setHost(host);
        connector.setPort(requestedPort);
        connector.setAcceptQueueSize(1024);
        connector.setIdleTimeout(300_000);
        server.addConnector(connector);
        pacer = Executors.newSingleThreadScheduledExecutor(r ->
        {
            Thread thread = new Thread(r, "cerebras-simulator-pacer");
            thread.setDaemon(true);
            return thread;
        });
        server.setHandler(new SimulatorHandler(this, pacer));
        server.start();
        return this;
    }

    public synchronized int port()
    {
        if (connector == null)
            throw new IllegalStateException("not started");
        return connector.getLocalPort();
    }

    /** Where a client sends what it would send to {@code https://api.cerebras.ai/v1}. */
    public String baseUrl()
    {
        return "http://" + host + ":" + port() + "/v1";
    }

    @Override
    public synchronized void close() throws Exception
    {
        if (server == null)
            return;
        try
        {
            server.stop();
        }
        finally
        {
            pacer.shutdownNow();
            server = null;
        }
    }

    /** From now on, the chat completions of this key (for every model) fail as {@code fault} says. */
    public void fault(String keyName, Fault fault)
    {
        faults.put(knownKey(keyName), fault);
    }

    /** Like {@link #fault(String, Fault)}, for one model only; it wins over the key's fault for all models. */
    public void fault(String keyName, String model, Fault fault)
    {
        if (!models.containsKey(model))
            throw new IllegalArgumentException("the simulator serves no model " + model);
        faults.put(knownKey(keyName) + "\u0000" + model, fault);
    }

    public void clearFaults()
    {
        faults.clear();
    }

    private String knownKey(String keyName)
    {
        if (!keysByName.containsKey(keyName))
            throw new IllegalArgumentException("the simulator has no key named " + keyName);
        return keyName;
    }

    /** Every chat completion call so far, including those with an unknown key. */
    public Counts counts()
    {
        return total.snapshot();
    }

    public Counts countsForKey(String keyName)
    {
        Counts.Tally tally = byKey.get(knownKey(keyName));
        return tally == null ? Counts.NONE : tally.snapshot();
    }

    /** What one (organization, model) budget was asked and charged, by all its keys. */
    public Counts countsFor(String organization, String model)
    {
        budget(organization, model);
        Counts.Tally tally = byBudget.get(budgetId(organization, model));
        return tally == null ? Counts.NONE : tally.snapshot();
    }

    /**
     * The most requests the (organization, model) budget could have admitted between two
     * real instants, if it was untouched at {@code from} and each request had this
     * estimate and cost: see {@link Budget#allowed} for the formula. Sum it over the
     * budgets a load used for what the whole pool allowed.
     */
    public long allowed(String organization, String model, Instant from, Instant to, long estimate, long cost)
    {
        return budget(organization, model).allowed(time.at(from), time.at(to), estimate, cost);
    }

    /** The headers an answer of this budget would carry now. */
    public Map<String, String> headers(String organization, String model)
    {
        return budget(organization, model).headers(time.now(), time);
    }

    /** The real instant the simulated time (and every window) starts from. */
    public Instant origin()
    {
        return time.origin();
    }

    public double timeScale()
    {
        return time.scale();
    }

    public List<String> organizations()
    {
        return List.copyOf(budgets.keySet());
    }

    public List<Model> models()
    {
        return modelList;
    }

    /** Key names with their organization, in the order they were configured. */
    public Map<String, String> keys()
    {
        Map<String, String> keys = new LinkedHashMap<>();
        keysByName.forEach((name, key) -> keys.put(name, key.organization()));
        return keys;
    }

    Limits limits(String organization, String model)
    {
        return budget(organization, model).limits;
    }

    // --- what the handler uses ------------------------------------------------------

    Key keyForSecret(String secret)
    {
        return secret == null ? null : keysBySecret.get(secret);
    }

    Model model(String name)
    {
        return models.get(name);
    }

    Budget budget(String organization, String model)
    {
        Map<String, Budget> ofOrganization = budgets.get(organization);
        if (ofOrganization == null)
            throw new IllegalArgumentException("the simulator has no organization " + organization);
        Budget budget = ofOrganization.get(model);
        if (budget == null)
            throw new IllegalArgumentException("the simulator serves no model " + model);
        return budget;
    }

    Fault.Kind drawFault(Key key, String model)
    {
        Fault fault = faults.get(key.name() + "\u0000" + model);
        if (fault == null)
            fault = faults.get(key.name());
        return fault == null ? null : fault.draw();
    }

    private static String budgetId(String organization, String model)
    {
        return organization + "\u0000" + model;
    }

    /** The tallies one call counts in: the total, its key's (if known), its budget's (if known). */
    List<Counts.Tally> talliesOf(Key key, String model)
    {
        List<Counts.Tally> tallies = new ArrayList<>(3);
        tallies.add(total);
        if (key != null)
        {
            tallies.add(byKey.computeIfAbsent(key.name(), k -> new Counts.Tally()));
            if (model != null)
                tallies.add(byBudget.computeIfAbsent(budgetId(key.organization(), model), k -> new Counts.Tally()));
        }
        return tallies;
    }

    /** Settings for a simulator; every setting has a default but models and organizations. */
    public static final class Builder
    {
        private final Map<String, Model> models = new LinkedHashMap<>();
        private final Map<String, Organization> organizations = new LinkedHashMap<>();
        private InstantSource clock = InstantSource.system();
        private double timeScale = 1;
        private Duration latency = Duration.ZERO;
        private Duration eventDelay = Duration.ZERO;
        private int streamChunks = 4;
        private boolean logRefusals;
        private String host = "127.0.0.1";
        private int port;

        private Builder()
        {
        }

        public Builder model(Model model)
        {
            if (models.putIfAbsent(model.name(), model) != null)
                throw new IllegalArgumentException("model " + model.name() + " is configured twice");
            return this;
        }

        public Builder organization(Organization organization)
        {
            if (organizations.putIfAbsent(organization.name(), organization) != null)
                throw new IllegalArgumentException("organization " + organization.name() + " is configured twice");
            return this;
        }

        /** Where time comes from: a test's manual clock; the system clock by default. */
        public Builder clock(InstantSource clock)
        {
            this.clock = clock;
            return this;
        }

        /** How much faster than its clock simulated time runs: at 6, a "minute" lasts 10 s. */
        public Builder timeScale(double scale)
        {
            this.timeScale = scale;
            return this;
        }

        /** How long (real time) an admitted request waits before its answer begins. */
        public Builder latency(Duration latency)
        {
            this.latency = nonNegative(latency, "latency");
            return this;
        }

        /** How long (real time) a stream waits between its events. */
        public Builder eventDelay(Duration delay)
        {
            this.eventDelay = nonNegative(delay, "event delay");
            return this;
        }

        /** Over how many content events a streamed answer is spread (at most one per token). */
        public Builder streamChunks(int chunks)
        {
            if (chunks <= 0)
                throw new IllegalArgumentException("a stream needs at least one content event");
            this.streamChunks = chunks;
            return this;
        }

        /** Print each quota 429 with its budget's state on standard output (off by default: tests keep their output). */
        public Builder logRefusals(boolean log)
        {
            this.logRefusals = log;
            return this;
        }

        public Builder host(String host)
        {
            this.host = host;
            return this;
        }

        /** 0 (the default) for an ephemeral port. */
        public Builder port(int port)
        {
            this.port = port;
            return this;
        }

        private static Duration nonNegative(Duration duration, String what)
        {
            if (duration.isNegative())
                throw new IllegalArgumentException("the " + what + " cannot be negative");
            return duration;
        }

        public CerebrasSimulator build()
        {
            return new CerebrasSimulator(this);
        }
    }
}
