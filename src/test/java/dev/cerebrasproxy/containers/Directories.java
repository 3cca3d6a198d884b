package dev.cerebrasproxy.containers;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.stream.Stream;

/** Copying a directory tree, which java.nio.file has no single call for. */
final class Directories
{
    private Directories()
    {
    }

    static void copy(Path from, Path to) throws IOException
    {
        try (Stream<Path> paths = Files.walk(from))
        {
            for (Path source : (Iterable<Path>)paths::iterator)
            {
                Path target = to.resolve(from.relativize(source).toString());
                if (Files.isDirectory(source))
                    Files.createDirectories(target);
                else
                    Files.copy(source, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.COPY_ATTRIBUTES);
            }
        }
    }
}
