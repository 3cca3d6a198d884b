package dev.cerebrasproxy;

import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The Date value formatted once per second is HTTP's fixed-length date, right for every second. */
class ResponseStampTest
{
    @Test
    void theDateIsImfFixdateOfTheSecond()
    {
        assertEquals("Thu, 01 Jan 1970 00:00:00 GMT", ResponseStamp.date(0));
        assertEquals("Wed, 02 Dec 2026 04:05:09 GMT", ResponseStamp.date(Instant.parse("2026-12-02T04:05:09Z").getEpochSecond()));
        // Asked again for the same second, and for the next: each its own.
        assertEquals("Wed, 02 Dec 2026 04:05:09 GMT", ResponseStamp.date(Instant.parse("2026-12-02T04:05:09Z").getEpochSecond()));
        long now = System.currentTimeMillis() / 1000;
        assertEquals(Instant.ofEpochSecond(now), ZonedDateTime.parse(ResponseStamp.date(now), DateTimeFormatter.RFC_1123_DATE_TIME).toInstant());
    }
}
