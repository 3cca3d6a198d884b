package dev.cerebrasproxy.ops;

import java.util.List;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

class UsageLedgerTest
{
    @Test
    void countsRequestsErrorsAndTokensPerKeyAndPerClient()
    {
        UsageLedger ledger = new UsageLedger();
        ledger.answered("alpha", "team-a", 200);
        ledger.answered("alpha", "team-b", 503);
        ledger.answered(null, "team-b", 401);
        ledger.tokens("alpha", "team-a", 10, 5);
        ledger.keyError("alpha", "request_quota_exceeded");

        List<UsageLedger.Usage> keys = ledger.byKey();
        assertEquals(List.of(new UsageLedger.Usage("alpha", 2, 1, 10, 5, "request_quota_exceeded")), keys);
        assertEquals(15, keys.get(0).totalTokens());

        List<UsageLedger.Usage> clients = ledger.byClient();
        assertEquals(2, clients.size());
        assertEquals(new UsageLedger.Usage("team-a", 1, 0, 10, 5, null), clients.get(0));
        assertEquals(new UsageLedger.Usage("team-b", 2, 2, 0, 0, "HTTP 401"), clients.get(1));
    }

    @Test
    void aRequestWithoutAKeyOrClientCountsNowhere()
    {
        UsageLedger ledger = new UsageLedger();
        ledger.answered(null, null, 200);
        ledger.tokens(null, null, 1, 1);
        assertEquals(List.of(), ledger.byKey());
        assertNull(ledger.byClient().isEmpty() ? null : ledger.byClient());
    }
}
