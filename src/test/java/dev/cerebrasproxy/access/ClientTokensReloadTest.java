package dev.cerebrasproxy.access;

import java.net.http.HttpResponse;
import java.time.Duration;

import dev.cerebrasproxy.config.ProxySettings;
import dev.cerebrasproxy.config.TokensFileWatcher;
import dev.cerebrasproxy.support.Http;
import dev.cerebrasproxy.support.LogCapture;
import dev.cerebrasproxy.support.Poll;
import dev.cerebrasproxy.support.ProxyExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static dev.cerebrasproxy.support.TestData.ALICE_TOKEN;
import static dev.cerebrasproxy.support.TestData.BOB_TOKEN;
import static dev.cerebrasproxy.support.TestData.CHAT;
import static dev.cerebrasproxy.support.TestData.CI_TOKEN;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/** PROXY_CLIENT_TOKENS_FILE reloads while the proxy runs, and a client it keeps keeps its counts. */
class ClientTokensReloadTest
{
    static final Duration SEEN_WITHIN = Duration.ofSeconds(10);

    /** Both forms in one file: ci bare, alice with 2 requests a minute. The manual clock keeps the minute from ending. */
    @RegisterExtension
    final ProxyExtension proxy = new ProxyExtension().manualClock().settings(ProxySettings.KEYS_FILE_POLL_MS, "20")
        .tokensFile(tokens(2, false));

    private static String tokens(int alicePerMinute, boolean withBob)
    {
        return "{\"ci\":\"" + CI_TOKEN + "\",\"alice\":{\"token\":\"" + ALICE_TOKEN + "\",\"requests_per_minute\":" + alicePerMinute + "}"
            + (withBob ? ",\"bob\":\"" + BOB_TOKEN + "\"" : "") + "}";
    }

    private int chat(String token) throws Exception
    {
        return Http.post(proxy.uri("/v1/chat/completions"), CHAT, "Authorization", "Bearer " + token).statusCode();
    }

    @Test
    void aReloadAddsAClientAndKeepsTheCountsOfThoseItKeeps() throws Exception
    {
        assertEquals(200, chat(ALICE_TOKEN));
        assertEquals(200, chat(ALICE_TOKEN));
        assertEquals(429, chat(ALICE_TOKEN), "alice's 2 of this minute are used");
        assertEquals(401, chat(BOB_TOKEN), "bob is not a client yet");

        proxy.writeTokensFile(tokens(3, true));
        Poll.untilTrue(SEEN_WITHIN, "bob to become a client", () -> proxy.context().clients().tokens().names().contains("bob"));
        assertEquals(200, chat(BOB_TOKEN));
        assertEquals(200, chat(ALICE_TOKEN), "the third of her new 3: her 2 were kept");
        assertEquals(429, chat(ALICE_TOKEN), "had the reload reset her counts, she would have 2 more");
        assertEquals(200, chat(CI_TOKEN));
    }

    @Test
    void theWatcherStopsWithTheWebapp() throws Exception
    {
        assertEquals(1, watcherThreads(), "the watcher runs while the webapp does");
        proxy.proxy().close();
        Poll.untilTrue(SEEN_WITHIN, "the tokens file thread to end", () -> watcherThreads() == 0);
    }

    private static long watcherThreads()
    {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().equals(TokensFileWatcher.THREAD_NAME) && t.isAlive()).count();
    }

    @Test
    void aBadFileIsRejectedInOneLineAndTheClientsStayAsTheyWere() throws Exception
    {
        int mark = LogCapture.mark();
        proxy.writeTokensFile("{\"ci\":\"" + CI_TOKEN + "\",\"alice\":{\"token\":\"" + ALICE_TOKEN + "\",\"requests_per_minute\":-2},\"bob\":\"" + BOB_TOKEN + "\"}");
        String line = Poll.until(SEEN_WITHIN, "the rejection to be logged", () ->
        {
            String logged = LogCapture.since(mark);
            return logged.contains("client tokens file rejected") ? logged : null;
        });
        assertFalse(line.contains("SECRET"), line);
        assertEquals(java.util.List.of("ci", "alice"), proxy.context().clients().tokens().names());
        assertEquals(401, chat(BOB_TOKEN));
        assertEquals(200, chat(ALICE_TOKEN));
    }
}
