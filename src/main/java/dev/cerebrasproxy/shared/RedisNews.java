package dev.cerebrasproxy.shared;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.cerebrasproxy.pool.KeyPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisPubSub;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.params.ScanParams;
import redis.clients.jedis.resps.ScanResult;

/**
 * Listens to the other replicas' news ({@link RedisReplicas}) on a thread and a connection
 * of its own, and applies it to this replica's pool. Each time it subscribes (at start, and
 * after Redis came back) it first reads the hashes, so what was learnt while it was away is
 * known too. While it cannot listen, the others' reservations are forgotten: this replica
 * goes on from what it knows itself.
 */
final class RedisNews implements AutoCloseable
{
    private static final Logger LOG = LoggerFactory.getLogger(RedisNews.class);
    private static final Duration RETRY = Duration.ofMillis(500);

    private final RedisLink link;
    private final RedisReplicas replicas;
    private final String prefix;
    private final KeyPool pool;
    private final Thread thread;
    private final CountDownLatch closed = new CountDownLatch(1);
    private volatile JedisPubSub subscription;
    private volatile Jedis connection;
    /** Said once per outage: the link's WARN is the one an operator acts on. */
    private boolean told;

    RedisNews(RedisLink link, RedisReplicas replicas, String prefix, KeyPool pool)
    {
        this.link = link;
        this.replicas = replicas;
        this.prefix = prefix;
        this.pool = pool;
        this.thread = new Thread(this::listen, "cerebras-proxy-redis-news");
        thread.setDaemon(true);
    }

    void start()
    {
        thread.start();
    }

    private void listen()
    {
        while (closed.getCount() > 0)
        {
            try (Jedis jedis = link.connection())
            {
                connection = jedis;
                JedisPubSub listener = new JedisPubSub()
                {
                    @Override
                    public void onSubscribe(String channel, int count)
                    {
                        catchUp(link.client());
                        if (told)
                            LOG.info("listening to the other replicas' news again (Redis at {})", link.settings().address());
                        told = false;
                    }

                    @Override
                    public void onMessage(String channel, String message)
                    {
                        apply(message);
                    }
                };
                subscription = listener;
                if (closed.getCount() > 0)
                    jedis.subscribe(listener, replicas.channel);
            }
            catch (RuntimeException e)
            {
                // The link says it (one WARN, degraded); here the others' holds stop counting.
                pool.news().forgetOthers();
                if (!told && closed.getCount() > 0)
                    LOG.info("cannot listen to the other replicas' news ({}): this replica's pool goes on from what it learns itself, and listens again once Redis answers", e.getClass().getSimpleName());
                told = true;
            }
            finally
            {
                connection = null;
            }
            try
            {
                closed.await(RETRY.toMillis(), TimeUnit.MILLISECONDS);
            }
            catch (InterruptedException e)
            {
                return;
            }
        }
    }

    /** Every budget and key hash, as the news would have said it. */
    private void catchUp(UnifiedJedis jedis)
    {
        ScanParams match = new ScanParams().match(prefix + "budget:*").count(200);
        String cursor = ScanParams.SCAN_POINTER_START;
        do
        {
            ScanResult<String> page = jedis.scan(cursor, match);
            for (String key : page.getResult())
                budget(jedis.hgetAll(key));
            cursor = page.getCursor();
        }
        while (!ScanParams.SCAN_POINTER_START.equals(cursor));
        match = new ScanParams().match(prefix + "key:*").count(200);
        do
        {
            ScanResult<String> page = jedis.scan(cursor, match);
            for (String key : page.getResult())
            {
                Map<String, String> fields = jedis.hgetAll(key);
                if ("q".equals(fields.get("s")))
                    pool.news().heardQuarantine(key.substring((prefix + "key:").length()), Instant.ofEpochMilli(Long.parseLong(fields.get("u"))), fields.getOrDefault("w", ""));
            }
            cursor = page.getCursor();
        }
        while (!ScanParams.SCAN_POINTER_START.equals(cursor));
    }

    private void budget(Map<String, String> fields)
    {
        String organization = fields.get("o");
        String model = fields.get("m");
        if (organization == null || model == null)
            return;
        if (fields.containsKey("rest"))
            pool.news().heardRest(organization, model, Instant.ofEpochMilli(Long.parseLong(fields.get("rest"))), fields.getOrDefault("why", ""), (int)number(fields.get("rl"), -1));
        if (fields.containsKey("tat"))
            pool.news().heardTokens(organization, model, Instant.ofEpochMilli(Long.parseLong(fields.get("tat"))), number(fields.get("tl"), -1), number(fields.get("tr"), -1));
        long now = pool.now().toEpochMilli();
        for (Map.Entry<String, String> field : fields.entrySet())
        {
            if (!field.getKey().startsWith("res:"))
                continue;
            String replica = field.getKey().substring(4);
            long at = number(fields.get("rat:" + replica), 0);
            // Holds older than a window are covered by upstream's own count by now (or their replica is gone).
            if (!replica.equals(replicas.me) && now - at < Duration.ofMinutes(1).toMillis())
                pool.news().heardReserved(organization, model, replica, number(field.getValue(), 0), 0);
        }
    }

    private void apply(String message)
    {
        int space = message.indexOf(' ');
        // This replica's own news, which it knows already: every request makes some, so it is not even parsed.
        if (space < 0 || (space == replicas.me.length() && message.startsWith(replicas.me)))
            return;
        try
        {
            JsonObject news = JsonParser.parseString(message.substring(space + 1)).getAsJsonObject();
            switch (news.get("t").getAsString())
            {
                case "rest" -> pool.news().heardRest(text(news, "o"), text(news, "m"), Instant.ofEpochMilli(number(text(news, "u"), 0)), text(news, "w"), (int)number(text(news, "rl"), -1));
                case "tok" -> pool.news().heardTokens(text(news, "o"), text(news, "m"), Instant.ofEpochMilli(number(text(news, "a"), 0)), number(text(news, "l"), -1), number(text(news, "n"), -1));
                case "res" -> pool.news().heardReserved(text(news, "o"), text(news, "m"), text(news, "r"), number(text(news, "n"), 0), (int)number(text(news, "s"), 0));
                case "key" ->
                {
                    if ("q".equals(text(news, "s")))
                        pool.news().heardQuarantine(text(news, "d"), Instant.ofEpochMilli(number(text(news, "u"), 0)), text(news, "w"));
                    else
                        pool.news().heardRecovered(text(news, "d"));
                }
                default ->
                {
                    // news of a later version: nothing this replica knows how to apply
                }
            }
        }
        catch (RuntimeException e)
        {
            LOG.debug("dropped news from another replica that this one cannot read: {}", e.toString());
        }
    }

    private static String text(JsonObject news, String field)
    {
        return news.has(field) && !news.get(field).isJsonNull() ? news.get(field).getAsString() : "";
    }

    private static long number(String text, long otherwise)
    {
        try
        {
            return text == null || text.isEmpty() ? otherwise : (long)Double.parseDouble(text);
        }
        catch (NumberFormatException e)
        {
            return otherwise;
        }
    }

    @Override
    public void close()
    {
        closed.countDown();
        JedisPubSub listening = subscription;
        try
        {
            if (listening != null && listening.isSubscribed())
                listening.unsubscribe();
        }
        catch (RuntimeException e)
        {
            // the connection is gone already
        }
        Jedis open = connection;
        if (open != null)
            open.close();
        try
        {
            thread.join(1000);
        }
        catch (InterruptedException e)
        {
            Thread.currentThread().interrupt();
        }
    }
}
