package dev.cerebrasproxy.forward;

import java.io.IOException;
import java.lang.reflect.Proxy;
import java.nio.ByteBuffer;

import org.eclipse.jetty.client.ByteBufferRequestContent;
import org.eclipse.jetty.client.Request;
import org.eclipse.jetty.io.Content;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Which attempts may go to another key: decided by how far the body got, so the sender's
 * reads are played here by hand on a request that records what Delivery attaches to it.
 */
class DeliveryTest
{
    private final Delivery delivery = new Delivery("POST");
    private Request.BeginListener begin;
    private Request.Content body;
    private Request request;

    @BeforeEach
    void watchAPostOfTwoSlices()
    {
        request = (Request)Proxy.newProxyInstance(Request.class.getClassLoader(), new Class<?>[] {Request.class}, (self, method, args) ->
        {
            switch (method.getName())
            {
                case "onRequestBegin" -> begin = (Request.BeginListener)args[0];
                case "body" -> body = (Request.Content)args[0];
                default -> throw new UnsupportedOperationException(method.getName());
            }
            return self;
        });
        delivery.watch(request, new ByteBufferRequestContent(ByteBuffer.wrap(new byte[] {1}), ByteBuffer.wrap(new byte[] {2})));
        begin.onBegin(request);
    }

    @Test
    void aBodyWhoseLastSliceWasTakenMayHaveReachedUpstreamWhole()
    {
        body.read().release();
        body.read().release();
        assertFalse(delivery.replayable());
    }

    /**
     * The exchange fails while the body is still going out (upstream reset it), and the
     * sender reads once more: it gets the failure, which a content source marks as last.
     * That is not the body's last slice. Taken for it, a request cut half sent was answered
     * 502 upstream_dropped instead of going to the next key (UpstreamFaultTest, now and then).
     */
    @Test
    void aFailureReadInsteadOfTheLastSliceLeavesTheAttemptReplayable()
    {
        body.read().release();
        body.fail(new IOException("reset by upstream"));
        Content.Chunk failed = body.read();
        assertTrue(Content.Chunk.isFailure(failed), "the read after the failure gives the failure: " + failed);
        assertTrue(delivery.replayable());
    }
}
