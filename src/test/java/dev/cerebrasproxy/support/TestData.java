package dev.cerebrasproxy.support;

/**
 * The keys, tokens, requests and upstream answers the tests share. Every secret holds
 * {@code -SECRET-}: .ci/run fails the build if one shows up in what the tests printed.
 */
public final class TestData
{
    public static final String ALPHA = "sk-alpha-SECRET-0001";
    public static final String BRAVO = "sk-bravo-SECRET-0002";
    public static final String CHARLIE = "sk-charlie-SECRET-0003";
    /** A fourth key, for a pool that changes. */
    public static final String DELTA = "sk-delta-SECRET-0004";
    /** The pool every test proxy has unless a test says otherwise: alpha, bravo and charlie. */
    public static final String KEYS = "{\"alpha\":\"" + ALPHA + "\",\"bravo\":\"" + BRAVO + "\",\"charlie\":\"" + CHARLIE + "\"}";

    public static final String CI_TOKEN = "tok-ci-SECRET-1111";
    public static final String ALICE_TOKEN = "tok-alice-SECRET-2222";
    /** PROXY_CLIENT_TOKENS for the clients ci and alice. */
    public static final String TOKENS = "{\"ci\":\"" + CI_TOKEN + "\",\"alice\":\"" + ALICE_TOKEN + "\"}";
    public static final String BOB_TOKEN = "tok-bob-SECRET-4444";
    public static final String ADMIN_TOKEN = "adm-SECRET-3333";

    /** A chat completion request, as an SDK sends it. */
    public static final String CHAT = "{\"model\":\"llama3.1-8b\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";
    /** The same, streamed. */
    public static final String STREAM_CHAT = "{\"model\":\"llama3.1-8b\",\"stream\":true,\"messages\":[]}";

    /** Upstream's answer to {@link #CHAT}: 5 prompt and 2 completion tokens. */
    public static final String COMPLETION = "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hello!\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2,\"total_tokens\":7}}";
    /** Cerebras's 429 for a key over its requests per minute. */
    public static final String RATE_LIMITED = "{\"message\":\"Requests per minute limit exceeded - too many requests sent.\",\"type\":\"too_many_requests_error\",\"param\":\"quota\",\"code\":\"request_quota_exceeded\"}";
    /** Cerebras's 429 for its own capacity: no key would help. */
    public static final String QUEUE_EXCEEDED = "{\"message\":\"We're experiencing high traffic right now! Please try again soon.\",\"type\":\"too_many_requests_error\",\"param\":\"queue\",\"code\":\"queue_exceeded\"}";
    /** Cerebras's 401 for a key it does not know. */
    public static final String WRONG_KEY = "{\"message\":\"Wrong API Key\",\"type\":\"invalid_request_error\",\"param\":\"api_key\",\"code\":\"wrong_api_key\"}";

    private TestData()
    {
    }
}
