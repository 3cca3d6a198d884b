package dev.cerebrasproxy.forward;

import java.net.Socket;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;

import dev.cerebrasproxy.config.ProxySettings;
import dev.cerebrasproxy.pool.Admission;
import dev.cerebrasproxy.pool.Replicas;
import dev.cerebrasproxy.support.Http;
import dev.cerebrasproxy.support.LogCapture;
import dev.cerebrasproxy.support.Poll;
import dev.cerebrasproxy.support.ProxyExtension;
import dev.cerebrasproxy.support.RawHttp;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static dev.cerebrasproxy.support.TestData.CHARLIE;
import static dev.cerebrasproxy.support.TestData.CHAT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Each attempt passes the replicas' atomic check ({@link Replicas#admit}) before it goes
 * upstream: a refused attempt sends nothing and the request takes another key, or waits
 * for the refused budget's room; an answer that comes after the client left sends nothing.
 * The replicas here are a stand-in whose answers the test chooses (Redis's own script is
 * {@code RedisAdmissionTest}'s).
 */
class SharedAdmissionTest
{
    @RegisterExtension
    static final ProxyExtension proxy = new ProxyExtension().manualClock().settings(ProxySettings.WAIT_FOR_KEY_MS, "10000");

    private final List<String> asked = new CopyOnWriteArrayList<>();

    private void replicasAnswer(Function<String, CompletionStage<Admission>> byOrganization)
    {
        proxy.pool().share(new Replicas()
        {
            @Override
            public CompletionStage<Admission> admit(String organization, String model, Instant now, Duration window, int requestLimit, long reserved)
            {
                asked.add(organization);
                return byOrganization.apply(organization);
            }
        });
    }

    @BeforeEach
    void nearTheirLimits()
    {
        proxy.pool().share(Replicas.ALONE);
        // 20,000 of 100,000 tokens left on each budget: a request's 8,193 (the default maximum)
        // leaves it in the last quarter, where an attempt waits for the replicas' check.
        for (dev.cerebrasproxy.pool.ApiKey key : proxy.pool().keys())
            proxy.pool().tokensReported(key, "llama3.1-8b", 100_000, 20_000);
    }

    @Test
    void anAttemptTheReplicasRefuseGoesNowhereAndTheRequestTakesAKeyTheyAdmit() throws Exception
    {
        Instant later = proxy.clock().instant().plusSeconds(30);
        replicasAnswer(organization -> CompletableFuture.completedFuture(organization.equals("charlie") ? Admission.GO : Admission.refusedUntil(later)));
        for (int i = 0; i < 3; i++)
            assertEquals(200, Http.post(proxy.uri("/v1/chat/completions"), CHAT).statusCode());
        assertEquals(3, proxy.upstream().received().size(), "one upstream call per request");
        assertTrue(proxy.upstream().received().stream().allMatch(r -> r.key().equals(CHARLIE)), "only the key the replicas admit is sent");
        assertTrue(asked.contains("alpha") && asked.contains("bravo"), "the others were asked and refused: " + asked);
    }

    @Test
    void aRequestEveryBudgetIsRefusedWaitsForTheFirstRoomAndIsSentThen() throws Exception
    {
        Instant room = proxy.clock().instant().plusSeconds(5);
        replicasAnswer(organization -> CompletableFuture.completedFuture(proxy.clock().instant().isBefore(room) ? Admission.refusedUntil(room) : Admission.GO));
        CompletableFuture<HttpResponse<String>> answer = Http.CLIENT.sendAsync(java.net.http.HttpRequest.newBuilder(proxy.uri("/v1/chat/completions"))
            .header("Content-Type", "application/json").POST(java.net.http.HttpRequest.BodyPublishers.ofString(CHAT)).build(), HttpResponse.BodyHandlers.ofString());
        proxy.clock().awaitPending(1, Duration.ofSeconds(10));
        assertEquals(0, proxy.upstream().received().size(), "nothing goes while the replicas have no room");
        proxy.clock().advance(Duration.ofSeconds(5));
        assertEquals(200, answer.get().statusCode());
        assertEquals(1, proxy.upstream().received().size());
    }

    @Test
    void anAdmissionThatComesAfterTheClientLeftSendsNothing() throws Exception
    {
        assumeTrue(TcpTable.available(), "departures while waiting are told by Linux's /proc/net/tcp");
        CompletableFuture<Admission> pending = new CompletableFuture<>();
        replicasAnswer(organization -> pending);
        int mark = LogCapture.mark();
        Socket socket = new Socket("127.0.0.1", proxy.port());
        RawHttp.writeRequest(socket, "POST", "/v1/chat/completions", CHAT);
        Poll.untilTrue(Duration.ofSeconds(10), "the attempt asked the replicas", () -> !asked.isEmpty());
        socket.close();
        // (An earlier test's last line may come after the mark: only a 499 counts.)
        Poll.untilTrue(Duration.ofSeconds(10), "the request logged as its client's departure", () -> LogCapture.since(mark).lines()
            .anyMatch(l -> l.contains("POST /v1/chat/completions 499 ")));
        // The late "go" is taken up on the client's executor before a request sent after it is.
        pending.complete(Admission.GO);
        assertEquals(200, Http.post(proxy.uri("/v1/chat/completions"), CHAT.replace("}", ",\"user\":\"later\"}")).statusCode());
        assertEquals(1, proxy.upstream().received().size(), "admitted after the client left: nothing went upstream for it");
        assertTrue(new String(proxy.upstream().lastReceived().body()).contains("later"));
        assertTrue(proxy.pool().budgets().stream().allMatch(b -> b.inFlight() == 0), "and its estimate is held no more");
    }
}
