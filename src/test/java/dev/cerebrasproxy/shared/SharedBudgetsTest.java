package dev.cerebrasproxy.shared;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import dev.cerebrasproxy.config.ProxySettings;
import dev.cerebrasproxy.config.RedisSettings;
import dev.cerebrasproxy.simulator.CerebrasSimulator;
import dev.cerebrasproxy.simulator.Counts;
import dev.cerebrasproxy.simulator.Limits;
import dev.cerebrasproxy.simulator.Model;
import dev.cerebrasproxy.simulator.Organization;
import dev.cerebrasproxy.support.Concurrently;
import dev.cerebrasproxy.support.Http;
import dev.cerebrasproxy.support.ProxyUnderTest;
import dev.cerebrasproxy.support.RedisServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * With the simulator's budgets, three replicas sharing Redis waste no more upstream calls
 * (429s, as a fraction of upstream calls) than one replica alone under the same load: the
 * rests, token reports, reservations and learnt limits of one are the others' too. Both
 * runs are made here, each against a fresh simulator, and both figures printed.
 *
 * <p>What keeps three within reach of one is that each attempt passes one atomic check in
 * Redis ({@code Replicas.admit}: the budget's window and tokens as every replica sent and
 * holds them) before it goes; with each replica admitting by its own copy, three wasted 2.3
 * to 4 points more than one in 4 of 6 runs.
 */
class SharedBudgetsTest
{
    @RegisterExtension
    static final RedisServer redis = new RedisServer();

    private static final String MODEL = "llama3.1-8b";
    /** Six times real time: a Cerebras minute lasts 10 s, and so does the proxy's. */
    private static final double SCALE = 6;
    /**
     * Six windows. The first, in which every budget learns its limit by meeting it, wastes
     * 5 to 12 calls alone or shared as the clients' attempts in flight happen to fall (they
     * were sent before anyone knew the limit, so sharing cannot save them): a difference of
     * up to 7 calls between two runs that says nothing about sharing. Over 15 s that was
     * more than the 2 % allowed in one run in twelve; over 30 s (about 255 calls) still in
     * two of five (one 9 wasted, three 16, all but one of the difference in the first
     * window); over 60 s (about 500 calls) 7 calls are 1.4 %.
     */
    private static final Duration LOAD = Duration.ofSeconds(60);
    private static final int CLIENTS = 6;
    /** One key each, 20 requests a (10 s) minute each: four budgets for each replica to learn. */
    private static final int ORGANIZATIONS = 4;
    private static final String CHAT = "{\"model\":\"" + MODEL + "\",\"max_completion_tokens\":100,\"messages\":[{\"role\":\"user\",\"content\":\"Hi there\"}]}";

    private record Run(long calls, long wasted, int answered)
    {
        double fraction()
        {
            return calls == 0 ? 0 : wasted / (double)calls;
        }

        @Override
        public String toString()
        {
            return String.format("%d of %d upstream calls wasted (%.2f %%), %d answered", wasted, calls, 100 * fraction(), answered);
        }
    }

    @Test
    void threeReplicasTogetherWasteNoMoreUpstreamCallsThanOne() throws Exception
    {
        Run one = run(1);
        Run three = run(3);
        System.out.println("shared budgets: one replica " + one + "; three replicas " + three);
        assertTrue(one.answered() > 30 && three.answered() > 30, "both runs served: " + one + "; " + three);
        assertTrue(three.fraction() <= one.fraction() + 0.02, "three replicas waste within 2 % of what one does: one " + one + "; three " + three);
    }

    private Run run(int count) throws Exception
    {
        redis.empty();
        List<ProxyUnderTest> replicas = new ArrayList<>();
        CerebrasSimulator.Builder budgets = CerebrasSimulator.builder()
            .model(Model.of(MODEL, Limits.of(20, 6000, 14_400)).withCompletionTokens(40))
            .timeScale(SCALE)
            .latency(Duration.ofMillis(20));
        StringBuilder keys = new StringBuilder("{");
        for (int org = 0; org < ORGANIZATIONS; org++)
        {
            String secret = "csk-" + org + "-SECRET-000" + org;
            budgets.organization(Organization.named("org-" + org).key("k" + org, secret));
            keys.append(org == 0 ? "" : ",").append("\"k").append(org).append("\":{\"key\":\"").append(secret).append("\",\"organization\":\"org-").append(org).append("\"}");
        }
        keys.append('}');
        try (CerebrasSimulator simulator = budgets.build().start())
        {
            for (int i = 0; i < count; i++)
                replicas.add(ProxyUnderTest.start(URI.create(simulator.baseUrl()), ProxySettings.API_KEYS, keys.toString(), ProxySettings.MINUTE_MS, "10000",
                    RedisSettings.URL, redis.url(), RedisSettings.TIMEOUT_MS, "1000", ProxySettings.WAIT_FOR_KEY_MS, "10000"));
            AtomicInteger answered = new AtomicInteger();
            long end = System.nanoTime() + LOAD.toNanos();
            Concurrently.run(CLIENTS, LOAD.plusSeconds(30), client ->
            {
                for (int i = client; System.nanoTime() < end; i++)
                {
                    if (Http.post(replicas.get(i % count).uri("/v1/chat/completions"), CHAT).statusCode() == 200)
                        answered.incrementAndGet();
                }
            });
            Counts counts = simulator.counts();
            return new Run(counts.calls(), counts.tooManyRequests(), answered.get());
        }
        finally
        {
            for (ProxyUnderTest replica : replicas)
                replica.close();
        }
    }
}
