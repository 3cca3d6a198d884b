package dev.cerebrasproxy.forward;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Locale;
import java.util.zip.GZIPInputStream;

import org.brotli.dec.BrotliInputStream;

/**
 * Content codings as the proxy meets them: whether a client accepts one, and decoding
 * the bodies the proxy reads itself (upstream errors, and the rare body upstream
 * encoded in a way the client cannot read).
 */
final class ContentCoding
{
    private ContentCoding()
    {
    }

    /** True for a missing or identity coding: bytes a client can always read. */
    static boolean isIdentity(String contentEncoding)
    {
        return contentEncoding == null || contentEncoding.isBlank() || contentEncoding.strip().equalsIgnoreCase("identity");
    }

    /** True for gzip, by either of its names. */
    static boolean isGzip(String contentEncoding)
    {
        String coding = contentEncoding == null ? "" : contentEncoding.strip();
        return coding.equalsIgnoreCase("gzip") || coding.equalsIgnoreCase("x-gzip");
    }

    /**
     * Whether an {@code Accept-Encoding} header admits {@code coding}: named or matched by
     * {@code *}, with a q-value above zero.
     */
    static boolean accepts(String acceptEncoding, String coding)
    {
        if (isIdentity(coding))
            return true;
        if (acceptEncoding == null)
            return false;
        String wanted = coding.strip().toLowerCase(Locale.ROOT);
        Boolean wildcard = null;
        for (String element : acceptEncoding.split(","))
        {
            String[] parts = element.split(";");
            String name = parts[0].strip().toLowerCase(Locale.ROOT);
            boolean allowed = qualityOf(parts) > 0;
            if (name.equals(wanted) || (isGzip(wanted) && isGzip(name)))
                return allowed;
            if (name.equals("*"))
                wildcard = allowed;
        }
        return wildcard != null && wildcard;
    }

    private static double qualityOf(String[] parameters)
    {
        for (int i = 1; i < parameters.length; i++)
        {
            String parameter = parameters[i].strip();
            if (parameter.length() > 2 && (parameter.charAt(0) == 'q' || parameter.charAt(0) == 'Q') && parameter.charAt(1) == '=')
            {
                try
                {
                    return Double.parseDouble(parameter.substring(2).strip());
                }
                catch (NumberFormatException e)
                {
                    return 0;
                }
            }
        }
        return 1;
    }

    /**
     * Decodes a whole body in gzip, br or identity coding, to at most {@code max} bytes: a
     * few KiB of gzip can inflate to gigabytes, so past the bound decoding stops and fails
     * instead of reading on.
     */
    static byte[] decode(String contentEncoding, byte[] body, long max) throws IOException
    {
        if (isIdentity(contentEncoding))
            return body;
        String coding = contentEncoding.strip().toLowerCase(Locale.ROOT);
        try (InputStream input = switch (coding)
        {
            case "gzip", "x-gzip" -> new GZIPInputStream(new ByteArrayInputStream(body));
            case "br" -> new BrotliInputStream(new ByteArrayInputStream(body));
            default -> throw new IOException("unsupported content coding " + coding);
        })
        {
            ByteArrayOutputStream decoded = new ByteArrayOutputStream(Math.min(body.length * 4, 64 * 1024));
            byte[] step = new byte[8192];
            int read;
            while ((read = input.read(step)) >= 0)
            {
                if (decoded.size() + (long)read > max)
                    throw new IOException("it decodes to more than " + max + " bytes");
                decoded.write(step, 0, read);
            }
            return decoded.toByteArray();
        }
    }
}
