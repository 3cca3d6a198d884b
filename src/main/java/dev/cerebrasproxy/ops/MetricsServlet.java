package dev.cerebrasproxy.ops;

import java.io.ByteArrayOutputStream;
import java.io.IOException;

import dev.cerebrasproxy.ProxyContext;
import dev.cerebrasproxy.WholeBody;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

/**
 * {@code /_proxy/metrics}: this webapp's {@link ProxyMetrics} in Prometheus's text
 * format, written by Prometheus's own writer. Needs the admin token when one is set.
 */
public class MetricsServlet extends AdminServlet
{
    private static final PrometheusTextFormatWriter WRITER = PrometheusTextFormatWriter.create();

    private ProxyMetrics metrics;

    @Override
    void init(ProxyContext context)
    {
        metrics = context.metrics();
    }

    @Override
    void answer(HttpServletRequest request, HttpServletResponse response) throws IOException
    {
        // Written aside first: a scrape is small, and a whole answer gets a Content-Length.
        ByteArrayOutputStream text = new ByteArrayOutputStream(8192);
        WRITER.write(text, metrics.registry().scrape());
        WholeBody.send(response, 200, WRITER.getContentType(), text.toByteArray(), "Cache-Control", "no-store");
    }
}
