package dev.cerebrasproxy;

import java.net.http.HttpResponse;
import java.nio.file.Path;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The production upstream is HTTPS: the proxy must verify it, and reuse its connections. */
class UpstreamTlsTest
{
    @TempDir
    static Path dir;
    private static SelfSignedCertificate certificate;
    private static FakeCerebras upstream;

    @BeforeAll
    static void start() throws Exception
    {
        certificate = SelfSignedCertificate.createIn(dir);
        upstream = FakeCerebras.overTls(certificate);
    }

    @AfterAll
    static void stop() throws Exception
    {
        upstream.close();
    }

    @Test
    void requestsOverTlsSucceedAndShareConnections() throws Exception
    {
        try (ProxyUnderTest proxy = ProxyUnderTest.start(upstream,
            ProxySettings.TRUST_STORE, certificate.trustStore().toString(),
            ProxySettings.TRUST_STORE_PASSWORD, SelfSignedCertificate.PASSWORD))
        {
            int before = upstream.tlsHandshakes();
            int requests = 20;
            for (int i = 0; i < requests; i++)
            {
                HttpResponse<String> response = Http.post(proxy.uri("/v1/chat/completions"), Http.CHAT);
                assertEquals(200, response.statusCode(), response.body());
                assertEquals(FakeCerebras.COMPLETION, response.body());
            }
            int handshakes = upstream.tlsHandshakes() - before;
            assertTrue(handshakes >= 1, "the requests went over TLS");
            assertTrue(handshakes < requests, requests + " requests took " + handshakes + " TLS connections: none was reused");
        }
    }

    @Test
    void anUntrustedUpstreamCertificateIsRefused() throws Exception
    {
        try (ProxyUnderTest proxy = ProxyUnderTest.start(upstream))
        {
            HttpResponse<String> response = Http.post(proxy.uri("/v1/chat/completions"), Http.CHAT);
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
        System.setProperty(names[0], certificate.trustStore().toString());
        System.setProperty(names[1], SelfSignedCertificate.PASSWORD);
        System.setProperty(names[2], "PKCS12");
        try (ProxyUnderTest proxy = ProxyUnderTest.start(upstream))
        {
            HttpResponse<String> response = Http.post(proxy.uri("/v1/chat/completions"), Http.CHAT);
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
