package dev.cerebrasproxy.shared;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.exceptions.JedisNoScriptException;

/**
 * A Lua script Redis runs atomically: sent by its SHA-1 (EVALSHA), and whole (EVAL, which
 * also caches it) only when Redis does not know it yet, after a restart or a SCRIPT FLUSH.
 */
final class Script
{
    private final String text;
    private final String sha;

    Script(String text)
    {
        this.text = text;
        try
        {
            sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(text.getBytes(StandardCharsets.UTF_8)));
        }
        catch (NoSuchAlgorithmException e)
        {
            throw new IllegalStateException("every JVM has SHA-1", e);
        }
    }

    Object run(UnifiedJedis jedis, List<String> keys, List<String> args)
    {
        try
        {
            return jedis.evalsha(sha, keys, args);
        }
        catch (JedisNoScriptException e)
        {
            return jedis.eval(text, keys, args);
        }
    }
}
