package dev.cerebrasproxy.forward;

import java.net.http.HttpResponse;

import dev.cerebrasproxy.support.Http;
import dev.cerebrasproxy.support.ProxyExtension;
import dev.cerebrasproxy.support.ProxyUnderTest;
import dev.cerebrasproxy.support.SelfSignedCertificate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static dev.cerebrasproxy.support.TestData.CHAT;
import static dev.cerebrasproxy.support.TestData.COMPLETION;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The production upstream is HTTPS: the proxy must verify it, and reuse its connections. */
class UpstreamTlsTest
{
    /** A fake that speaks HTTPS with a certificate of its own, and a proxy that trusts it through PROXY_UPSTREAM_TRUST_STORE. */
    @RegisterExtension
    static final ProxyExtension proxy = new ProxyExtension().overTls();

    @Test
    void requestsOverTlsSucceedAndShareConnections() throws Exception
    {
        int before = proxy.upstream().tlsHandshakes();
        int requests = 20;
        for (int i = 0; i < requests; i++)
        {
            HttpResponse<String> response = Http.post(proxy.uri("/v1/chat/completions"), CHAT);
            assertEquals(200, response.statusCode(), response.body());
            assertEquals(COMPLETION, response.body());
        }
        int handshakes = proxy.upstream().tlsHandshakes() - before;
        assertTrue(handshakes >= 1, "the requests went over TLS");
        assertTrue(handshakes < requests, requests + " requests took " + handshakes + " TLS connections: none was reused");
    }

    @Test
    void anUntrustedUpstreamCertificateIsRefused() throws Exception
    {
        try (ProxyUnderTest untrusting = ProxyUnderTest.start(proxy.upstream()))
        {
            HttpResponse<String> response = Http.post(untrusting.uri("/v1/chat/completions"), CHAT);
            assertEquals(502, response.statusCode());
            assertEquals("upstream_unreachable", Http.json(response).get("code").getAsString());
        }
    }

    @Test
    void theStandardTrustStorePropertiesAreHonoured() throws Exception
    {
        String[] names = {"javax.net.ssl.trustStore", "javax.net.ssl.trustStorePassword", "javax.net.ssl.trustStoreType"};
        String[] saved = new String[names.length];
        for (int i = 0; i < names.length; i++)
            saved[i] = System.getProperty(names[i]);
        System.setProperty(names[0], proxy.certificate().trustStore().toString());
        System.setProperty(names[1], SelfSignedCertificate.PASSWORD);
        System.setProperty(names[2], "PKCS12");
        try (ProxyUnderTest byProperties = ProxyUnderTest.start(proxy.upstream()))
        {
            HttpResponse<String> response = Http.post(byProperties.uri("/v1/chat/completions"), CHAT);
            assertEquals(200, response.statusCode(), response.body());
        }
        finally
        {
            for (int i = 0; i < names.length; i++)
            {
                if (saved[i] == null)
                    System.clearProperty(names[i]);
                else
                    System.setProperty(names[i], saved[i]);
            }
        }
    }
}
