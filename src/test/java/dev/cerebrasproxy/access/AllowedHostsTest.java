package dev.cerebrasproxy.access;

import java.util.List;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Host headers against the allowed names, without HTTP; verdicts are remembered, so each is asked twice. */
class AllowedHostsTest
{
    private final AllowedHosts hosts = AllowedHosts.of(List.of("proxy.example.com"));

    @Test
    void verdictsStayTheSameWhenAskedAgain()
    {
        for (int round = 0; round < 2; round++)
        {
            assertTrue(hosts.allowsHostHeader("localhost:8080"));
            assertTrue(hosts.allowsHostHeader("127.0.0.1"));
            assertTrue(hosts.allowsHostHeader("[::1]:80"));
            assertTrue(hosts.allowsHostHeader("PROXY.example.com."));
            assertFalse(hosts.allowsHostHeader("attacker.example"));
            assertFalse(hosts.allowsHostHeader("localhost:80a"));
            assertFalse(hosts.allowsHostHeader("localhost:123456"));
            assertFalse(hosts.allowsHostHeader("localhost:"));
            assertFalse(hosts.allowsHostHeader("127.0.0.01"));
        }
    }

    /** A client sending a new name each time fills what is remembered: it is emptied, and verdicts stay right. */
    @Test
    void manyNamesDoNotChangeAVerdict()
    {
        for (int i = 0; i < 1000; i++)
        {
            assertFalse(hosts.allowsHostHeader("rebind-" + i + ".attacker.example"));
            assertTrue(hosts.allowsHostHeader("localhost:" + (1000 + i)));
        }
        assertFalse(hosts.allowsHostHeader("attacker.example"));
        assertTrue(hosts.allowsHostHeader("proxy.example.com:443"));
    }
}
