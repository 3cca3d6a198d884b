package dev.cerebrasproxy.containers;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import dev.cerebrasproxy.support.Poll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Stopping a child stops what it started too: containers are scripts that start JVMs. */
class ChildProcessTest
{
    @Test
    void closingStopsTheProcessAndEveryDescendant(@TempDir Path dir) throws Exception
    {
        List<ProcessHandle> tree;
        try (ChildProcess child = ChildProcess.start("tree", List.of("/bin/sh", "-c", "sleep 300 & sleep 300 & wait"), dir, Map.of(), dir.resolve("out.log")))
        {
            Poll.untilTrue(Duration.ofSeconds(10), "both sleeps to start", () -> child.descendants().size() == 2);
            tree = child.descendants();
        }
        for (ProcessHandle process : tree)
            assertFalse(process.isAlive(), process + " outlived its parent");
    }

    @Test
    void theChildGetsTheGivenEnvironmentAndItsOutputIsKept(@TempDir Path dir) throws Exception
    {
        try (ChildProcess child = ChildProcess.start("env", List.of("/bin/sh", "-c", "echo \"keys=$CEREBRAS_API_KEYS\"; exec sleep 300"), dir,
            Map.of("CEREBRAS_API_KEYS", "{}"), dir.resolve("out.log")))
        {
            Poll.untilTrue(Duration.ofSeconds(10), "the child's output", () -> child.output().contains("keys="));
            assertEquals("keys={}", child.output().strip());
            assertTrue(child.isAlive());
        }
    }
}
