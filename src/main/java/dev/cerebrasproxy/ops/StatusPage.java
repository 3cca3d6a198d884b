package dev.cerebrasproxy.ops;

import java.util.List;
import java.util.function.Function;

/**
 * The status page's HTML: plain tables an operator keeps open, and a few lines of script
 * that fetch the JSON twin every {@link #REFRESH_MS} and refill the tables, so the page
 * stays current without reloading (and without losing the scroll position). Every text
 * is escaped: names come from configuration and errors from upstream. The script writes
 * with {@code textContent} only, so the refreshed rows are as safe as the first.
 */
final class StatusPage
{
    static final int REFRESH_MS = 2000;

    /** A table column: its header, its CSS class (which the script's JSON field matches), and its text. */
    private record Column<R>(String header, String field, Function<R, Object> value)
    {
    }

    private static final List<Column<StatusReport.KeyRow>> KEY_COLUMNS = List.of(
        new Column<>("Key", "name", StatusReport.KeyRow::name),
        new Column<>("State", "state", StatusReport.KeyRow::state),
        new Column<>("Recovers", "recovers", StatusReport.KeyRow::recovers),
        new Column<>("Requests", "requests", StatusReport.KeyRow::requests),
        new Column<>("Errors", "errors", StatusReport.KeyRow::errors),
        new Column<>("Tokens", "tokens", StatusReport.KeyRow::tokens),
        new Column<>("Last error", "lastError", StatusReport.KeyRow::lastError));

    private static final List<Column<StatusReport.BudgetRow>> BUDGET_COLUMNS = List.of(
        new Column<>("Organization", "organization", StatusReport.BudgetRow::organization),
        new Column<>("Model", "model", StatusReport.BudgetRow::model),
        new Column<>("State", "state", StatusReport.BudgetRow::state),
        new Column<>("Recovers", "recovers", StatusReport.BudgetRow::recovers),
        new Column<>("Tokens left", "tokensLeft", StatusReport.BudgetRow::tokensLeft),
        new Column<>("Tokens/min", "tokenLimit", StatusReport.BudgetRow::tokenLimit),
        new Column<>("In flight", "inFlight", StatusReport.BudgetRow::inFlight),
        new Column<>("Last error", "lastError", StatusReport.BudgetRow::lastError));

    private static final List<Column<StatusReport.OrganizationRow>> ORGANIZATION_COLUMNS = List.of(
        new Column<>("Organization", "organization", StatusReport.OrganizationRow::organization),
        new Column<>("Keys", "keys", StatusReport.OrganizationRow::keys),
        new Column<>("Joined", "joined", StatusReport.OrganizationRow::joined),
        new Column<>("Concluded", "concluded", StatusReport.OrganizationRow::concluded),
        new Column<>("Since", "since", StatusReport.OrganizationRow::since));

    private static final List<Column<StatusReport.WaitingRow>> WAITING_COLUMNS = List.of(
        new Column<>("Client", "client", StatusReport.WaitingRow::client),
        new Column<>("Waiting", "waiting", StatusReport.WaitingRow::waiting));

    private static final List<Column<StatusReport.ClientRow>> CLIENT_COLUMNS = List.of(
        new Column<>("Client", "name", StatusReport.ClientRow::name),
        new Column<>("Requests", "requests", StatusReport.ClientRow::requests),
        new Column<>("Errors", "errors", StatusReport.ClientRow::errors),
        new Column<>("Tokens", "tokens", StatusReport.ClientRow::tokens),
        new Column<>("Last error", "lastError", StatusReport.ClientRow::lastError));

    /** Each configured client against its own limits; "-" where it has no such limit. */
    private static final List<Column<StatusReport.LimitRow>> LIMIT_COLUMNS = List.of(
        new Column<>("Client", "name", StatusReport.LimitRow::name),
        new Column<>("Models", "models", StatusReport.LimitRow::models),
        new Column<>("Requests/min", "requestsPerMinute", StatusReport.LimitRow::requestsPerMinute),
        new Column<>("this minute", "requestsThisMinute", StatusReport.LimitRow::requestsThisMinute),
        new Column<>("left", "requestsLeft", StatusReport.LimitRow::requestsLeft),
        new Column<>("Tokens/min", "tokensPerMinute", StatusReport.LimitRow::tokensPerMinute),
        new Column<>("this minute", "tokensThisMinute", StatusReport.LimitRow::tokensThisMinute),
        new Column<>("left", "tokensLeftThisMinute", StatusReport.LimitRow::tokensLeftThisMinute),
        new Column<>("Tokens/day", "tokensPerDay", StatusReport.LimitRow::tokensPerDay),
        new Column<>("today (UTC)", "tokensToday", StatusReport.LimitRow::tokensToday),
        new Column<>("left", "tokensLeftToday", StatusReport.LimitRow::tokensLeftToday));

    private static final List<Column<UsageLedger.DayUse>> DAY_COLUMNS = List.of(
        new Column<>("Day (UTC)", "day", UsageLedger.DayUse::day),
        new Column<>("Client", "client", UsageLedger.DayUse::client),
        new Column<>("Model", "model", UsageLedger.DayUse::model),
        new Column<>("Requests", "requests", UsageLedger.DayUse::requests),
        new Column<>("Tokens", "tokens", UsageLedger.DayUse::tokens));

    private StatusPage()
    {
    }

    /** @param nonce allows this page's own style and script under its Content-Security-Policy, and nothing else */
    static String render(StatusReport report, String nonce)
    {
        StringBuilder html = new StringBuilder(4096);
        html.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
            .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
            .append("<title>cerebras-proxy status</title>")
            .append("<style nonce=\"").append(nonce).append("\">").append(CSS).append("</style></head><body>\n")
            .append("<h1>cerebras-proxy</h1>\n<p id=\"updated\">Refreshes every ").append(REFRESH_MS / 1000).append(" s.</p>\n")
            // Only with PROXY_REDIS_URL: a single replica has nothing to share.
            .append(report.redis().equals("off") ? "" : "<p id=\"redis\" class=\"" + escape(report.redis()) + "\">redis: " + escape(report.redis()) + "</p>\n")
            .append("<h2>Keys</h2>\n");
        table(html, "keys", KEY_COLUMNS, report.keys(), row -> row.state());
        html.append("<h2>Budgets (organization, model)</h2>\n");
        table(html, "budgets", BUDGET_COLUMNS, report.budgets(), row -> row.state());
        html.append("<h2>Organizations found shared (not declared)</h2>\n");
        table(html, "organizations", ORGANIZATION_COLUMNS, report.organizations(), row -> "");
        html.append("<h2>Waiting for capacity</h2>\n");
        table(html, "waiting", WAITING_COLUMNS, report.waiting(), row -> "");
        html.append("<h2>Clients</h2>\n");
        table(html, "clients", CLIENT_COLUMNS, report.clients(), row -> "");
        html.append("<h2>Client limits</h2>\n");
        table(html, "limits", LIMIT_COLUMNS, report.limits(), row -> "");
        html.append("<h2>Usage by day, client and model (since start)</h2>\n");
        table(html, "days", DAY_COLUMNS, report.usageByDay(), row -> "");
        html.append("<script nonce=\"").append(nonce).append("\">").append(script()).append("</script>\n</body></html>\n");
        return html.toString();
    }

    private static <R> void table(StringBuilder html, String id, List<Column<R>> columns, List<R> rows, Function<R, String> rowClass)
    {
        html.append("<table><thead><tr>");
        for (Column<R> column : columns)
            html.append("<th>").append(escape(column.header())).append("</th>");
        html.append("</tr></thead><tbody id=\"").append(id).append("\">");
        for (R row : rows)
        {
            html.append("<tr class=\"").append(escape(rowClass.apply(row))).append("\">");
            for (Column<R> column : columns)
                html.append("<td class=\"").append(column.field()).append("\">").append(escape(text(column.value().apply(row)))).append("</td>");
            html.append("</tr>");
        }
        html.append("</tbody></table>\n");
    }

    /** A value as the page shows it: "-" for a limit the client does not have (null), as the script does. */
    private static String text(Object value)
    {
        return value == null ? "-" : String.valueOf(value);
    }

    static String escape(String text)
    {
        StringBuilder escaped = new StringBuilder(text.length());
        for (char c : text.toCharArray())
        {
            switch (c)
            {
                case '&' -> escaped.append("&amp;");
                case '<' -> escaped.append("&lt;");
                case '>' -> escaped.append("&gt;");
                case '"' -> escaped.append("&quot;");
                case '\'' -> escaped.append("&#39;");
                default -> escaped.append(c);
            }
        }
        return escaped.toString();
    }

    private static String fields(List<? extends Column<?>> columns)
    {
        StringBuilder list = new StringBuilder("[");
        for (Column<?> column : columns)
            list.append(list.length() > 1 ? "," : "").append('\'').append(column.field()).append('\'');
        return list.append(']').toString();
    }

    /** Each refresh is let in like the page was: by the admin cookie, which a same-origin fetch carries. */
    private static String script()
    {
        return """
            (function () {
              function fill(id, rows, fields, rowClass) {
                var old = document.getElementById(id);
                if (!old) return;
                var body = document.createElement('tbody');
                body.id = id;
                rows.forEach(function (row) {
                  var tr = document.createElement('tr');
                  tr.className = rowClass(row);
                  fields.forEach(function (field) {
                    var td = document.createElement('td');
                    td.className = field;
                    td.textContent = row[field] === null || row[field] === undefined ? '-' : String(row[field]);
                    tr.appendChild(td);
                  });
                  body.appendChild(tr);
                });
                old.parentNode.replaceChild(body, old);
              }
              function refresh() {
                var updated = document.getElementById('updated');
                fetch('status.json', {cache: 'no-store', credentials: 'same-origin'})
                  .then(function (response) {
                    if (!response.ok) throw new Error('HTTP ' + response.status);
                    return response.json();
                  })
                  .then(function (report) {
                    fill('keys', report.keys, %s, function (row) { return row.state; });
                    fill('budgets', report.budgets, %s, function (row) { return row.state; });
                    fill('organizations', report.organizations, %s, function () { return ''; });
                    fill('waiting', report.waiting, %s, function () { return ''; });
                    fill('clients', report.clients, %s, function () { return ''; });
                    fill('limits', report.limits, %s, function () { return ''; });
                    fill('days', report.usageByDay, %s, function () { return ''; });
                    var redis = document.getElementById('redis');
                    if (redis) { redis.className = report.redis; redis.textContent = 'redis: ' + report.redis; }
                    updated.className = '';
                    updated.textContent = 'Updated ' + new Date().toLocaleTimeString() + ', every %d s.';
                  })
                  .catch(function (error) {
                    updated.className = 'stale';
                    updated.textContent = 'Could not refresh (' + error.message + ') at ' + new Date().toLocaleTimeString() + '; retrying.';
                  })
                  .finally(function () { setTimeout(refresh, %d); });
              }
              setTimeout(refresh, %d);
            })();
            """.formatted(fields(KEY_COLUMNS), fields(BUDGET_COLUMNS), fields(ORGANIZATION_COLUMNS), fields(WAITING_COLUMNS), fields(CLIENT_COLUMNS), fields(LIMIT_COLUMNS), fields(DAY_COLUMNS), REFRESH_MS / 1000, REFRESH_MS, REFRESH_MS);
    }

    private static final String CSS = """
        body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
        h1 { font-size: 1.4em; margin: 0 0 .2em; } h2 { font-size: 1.1em; margin: 1.4em 0 .4em; }
        table { border-collapse: collapse; } th, td { padding: .3em .8em; border-bottom: 1px solid #ddd; text-align: left; }
        td.requests, td.errors, td.tokens { text-align: right; font-variant-numeric: tabular-nums; }
        tr.available td.state { color: #11772f; } tr.cooling td.state, tr.resting td.state { color: #a35f00; } tr.quarantined td.state { color: #b3141b; font-weight: bold; }
        #updated { color: #666; } #updated.stale { color: #b3141b; } #redis.ok { color: #11772f; } #redis.degraded { color: #b3141b; font-weight: bold; }
        """;
}
