package dev.cerebrasproxy;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BoundedMemoTest
{
    private final List<String> computed = new ArrayList<>();
    private final BoundedMemo<String, Integer> lengths = new BoundedMemo<>(3, key ->
    {
        computed.add(key);
        return key.length();
    });

    @Test
    void anAnswerIsComputedOnceWhileRemembered()
    {
        assertEquals(2, lengths.get("ab"));
        assertEquals(2, lengths.get("ab"));
        assertEquals(List.of("ab"), computed);
    }

    /** A key made up per request cannot grow it; what was crowded out is computed again once, then remembered. */
    @Test
    void itIsEmptiedWhenFullAndNeverGrowsPastItsBound()
    {
        for (int i = 0; i < 100; i++)
        {
            assertEquals(String.valueOf(i).length(), lengths.get(String.valueOf(i)));
            assertTrue(lengths.size() <= 3, "remembered " + lengths.size());
        }
        computed.clear();
        assertEquals(4, lengths.get("real"));
        assertEquals(4, lengths.get("real"));
        assertEquals(List.of("real"), computed);
    }
}
