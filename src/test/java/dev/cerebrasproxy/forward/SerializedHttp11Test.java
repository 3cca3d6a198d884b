package dev.cerebrasproxy.forward;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import dev.cerebrasproxy.config.UpstreamProtocol;
import dev.cerebrasproxy.support.FakeCerebras;
import dev.cerebrasproxy.support.Poll;
import org.eclipse.jetty.client.ContentResponse;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.StringRequestContent;
import org.eclipse.jetty.client.transport.HttpRequest;
import org.eclipse.jetty.io.ClientConnector;
import org.eclipse.jetty.io.EndPoint;
import org.junit.jupiter.api.Test;

import static dev.cerebrasproxy.support.TestData.CHAT;
import static dev.cerebrasproxy.support.TestData.COMPLETION;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * An HTTP/1.1 connection to upstream is parsed by one thread at a time (see
 * {@link SerializedHttp11}): while one thread is inside a response's headers, the I/O
 * thread's turn on that connection waits. Jetty's own receiver lets it in, and the two
 * then share the network buffer; the soak lost an answer to that about one run in five.
 */
class SerializedHttp11Test
{
    @Test
    void theIoThreadWaitsWhileAnotherThreadParsesTheSameConnection() throws Exception
    {
        try (FakeCerebras upstream = new FakeCerebras())
        {
            HttpClient client = new HttpClient(UpstreamConnections.transport(new ClientConnector(), UpstreamProtocol.HTTP_1_1, false));
            client.start();
            try
            {
                AtomicReference<Thread.State> ioThreadWhileParsing = new AtomicReference<>();
                ContentResponse response = client.newRequest(upstream.baseUrl().resolve("/v1/chat/completions"))
                    .method("POST")
                    .body(new StringRequestContent("application/json", CHAT))
                    .timeout(30, TimeUnit.SECONDS)
                    .onResponseHeaders(headers ->
                    {
                        // Inside the parse of this answer: the I/O thread's turn, as when the socket turns readable.
                        EndPoint endPoint = (EndPoint)((HttpRequest)headers.getRequest()).getConversation().getAttribute(EndPoint.class.getName());
                        Thread io = new Thread(() ->
                        {
                            try
                            {
                                ((org.eclipse.jetty.io.AbstractConnection)endPoint.getConnection()).onFillable();
                            }
                            catch (RuntimeException nothingToRead)
                            {
                                // After its wait it finds the connection already read, or already watched.
                            }
                        }, "io-turn");
                        io.start();
                        Poll.until(Duration.ofSeconds(10), () -> io.getState() == Thread.State.WAITING || io.getState() == Thread.State.TERMINATED);
                        ioThreadWhileParsing.set(io.getState());
                    })
                    .send();
                assertEquals(Thread.State.WAITING, ioThreadWhileParsing.get(), "the I/O thread parsed beside the thread in the headers");
                assertEquals(200, response.getStatus());
                assertEquals(COMPLETION, response.getContentAsString());
            }
            finally
            {
                client.stop();
            }
        }
    }
}
