package dev.cerebrasproxy.support;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.zip.GZIPOutputStream;

/** Test data in the content codings upstream may answer in. */
public final class Codings
{
    private Codings()
    {
    }

    public static byte[] gzip(byte[] data)
    {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gzip = new GZIPOutputStream(out))
        {
            gzip.write(data);
        }
        catch (IOException e)
        {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /**
     * Brotli without a Brotli encoder (the JDK and org.brotli:dec only decode): a valid
     * stream made of one uncompressed meta-block, per RFC 7932.
     */
    public static byte[] brotliUncompressed(byte[] data)
    {
        if (data.length == 0 || data.length > 65536)
            throw new IllegalArgumentException("1 to 65536 bytes");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        // Bits, least significant first: WBITS=16 (one 0 bit), ISLAST=0, MNIBBLES=4 (00),
        // MLEN-1 in 16 bits, ISUNCOMPRESSED=1, then padding to the byte boundary.
        int header = ((data.length - 1) << 4) | (1 << 20);
        out.write(header & 0xFF);
        out.write((header >> 8) & 0xFF);
        out.write((header >> 16) & 0xFF);
        out.writeBytes(data);
        // A last, empty meta-block: ISLAST=1, ISLASTEMPTY=1.
        out.write(0x03);
        return out.toByteArray();
    }
}
