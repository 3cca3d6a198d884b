package dev.cerebrasproxy.simulator;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * The simulator's HTTP side, on Jetty core: no thread waits for a body or an answer.
 * A chat completion is judged in this order: its key (401), its body (400), its model
 * (404), the key's scripted fault, then admission against the key's organization's
 * budget for that model (429).
 */
final class SimulatorHandler extends Handler.Abstract.NonBlocking
{
    static final int MAX_BODY_BYTES = 8 * 1024 * 1024;

    private final CerebrasSimulator simulator;
    private final ScheduledExecutorService pacer;
    private final Reports reports;
    private final AtomicLong ids = new AtomicLong();

    SimulatorHandler(CerebrasSimulator simulator, ScheduledExecutorService pacer)
    {
        this.simulator = simulator;
        this.pacer = pacer;
        this.reports = new Reports(simulator);
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback)
    {
        String path = Request.getPathInContext(request);
        String method = request.getMethod();
        if (path.startsWith("/_simulator/"))
            return reports.handle(path, method, request, response, callback);
        if (path.equals("/v1/chat/completions"))
        {
            if (!method.equals("POST"))
                return notAllowed(response, callback);
            CerebrasSimulator.Key key = authenticate(request, response, callback, true);
            if (key != null)
                Content.Source.asByteArrayAsync(request, MAX_BODY_BYTES).whenComplete((body, failure) ->
                {
                    if (failure != null)
                        refuse(response, callback, simulator.talliesOf(key, null), 400, "invalid_body",
                            Answers.error("The request body could not be read whole (at most " + MAX_BODY_BYTES + " bytes).", "invalid_request_error", "body", "invalid_body"));
                    else
                        chat(key, body, response, callback);
                });
            return true;
        }
        if (path.equals("/v1/models") || path.startsWith("/v1/models/"))
        {
            if (!method.equals("GET"))
                return notAllowed(response, callback);
            if (authenticate(request, response, callback, false) == null)
                return true;
            if (path.equals("/v1/models"))
            {
                send(response, callback, 200, "application/json", Map.of(), Answers.models(simulator.models()));
                return true;
            }
            Model model = simulator.model(path.substring("/v1/models/".length()));
            if (model == null)
                send(response, callback, 404, "application/json", Map.of(), Answers.modelNotFound(path.substring("/v1/models/".length())));
            else
                send(response, callback, 200, "application/json", Map.of(), Answers.model(model).toString());
            return true;
        }
        send(response, callback, 404, "application/json", Map.of(),
            Answers.error("There is nothing at this path: the simulator serves /v1/chat/completions and /v1/models.", "not_found_error", "", "not_found"));
        return true;
    }

    private boolean notAllowed(Response response, Callback callback)
    {
        send(response, callback, 405, "application/json", Map.of(),
            Answers.error("This method is not allowed here.", "invalid_request_error", "", "method_not_allowed"));
        return true;
    }

    /** @return the request's key, or null once a 401 has been sent */
    private CerebrasSimulator.Key authenticate(Request request, Response response, Callback callback, boolean counted)
    {
        String authorization = request.getHeaders().get(HttpHeader.AUTHORIZATION);
        String secret = authorization != null && authorization.regionMatches(true, 0, "Bearer ", 0, 7) ? authorization.substring(7).strip() : null;
        CerebrasSimulator.Key key = simulator.keyForSecret(secret);
        if (key != null)
            return key;
        if (counted)
            refuse(response, callback, simulator.talliesOf(null, null), 401, Fault.Kind.WRONG_API_KEY.code, Answers.wrongApiKey());
        else
            send(response, callback, 401, "application/json", Map.of(), Answers.wrongApiKey());
        return null;
    }

    private void chat(CerebrasSimulator.Key key, byte[] body, Response response, Callback callback)
    {
        ChatRequest chat;
        try
        {
            chat = ChatRequest.parse(body);
        }
        catch (ChatRequest.Invalid e)
        {
            refuse(response, callback, simulator.talliesOf(key, null), 400, "wrong_api_format",
                Answers.error(e.getMessage(), "invalid_request_error", e.param, "wrong_api_format"));
            return;
        }
        Model model = simulator.model(chat.model());
        if (model == null)
        {
            refuse(response, callback, simulator.talliesOf(key, null), 404, "model_not_found", Answers.modelNotFound(chat.model()));
            return;
        }
        List<Counts.Tally> tallies = simulator.talliesOf(key, model.name());
        Fault.Kind fault = simulator.drawFault(key, model.name());
        if (fault != null)
        {
            refuse(response, callback, tallies, fault.status, fault.code, Answers.error(fault.message, fault.type, fault.param, fault.code));
            return;
        }
        Budget budget = simulator.budget(key.organization(), model.name());
        long estimate = chat.estimate(model);
        Budget.Decision decision = budget.admit(estimate, simulator.time.now(), simulator.time);
        if (!decision.admitted())
        {
            if (simulator.logRefusals)
                System.out.printf(java.util.Locale.ROOT, "%.3f s refused %s/%s key=%s %s: %s%n", simulator.time.realSeconds(simulator.time.now()),
                    key.organization(), model.name(), key.name(), decision.code(), budget.state(estimate, simulator.time.now(), simulator.time));
            tallies.forEach(Counts.Tally::call);
            tallies.forEach(t -> t.refused(429, decision.code()));
            send(response, callback, 429, "application/json", decision.headers(),
                Answers.error(decision.message(), "too_many_requests_error", "quota", decision.code()));
            return;
        }
        tallies.forEach(Counts.Tally::call);
        tallies.forEach(Counts.Tally::admitted);
        long completion = chat.completionTokens(model);
        String finish = completion < model.completionTokens() ? "length" : "stop";
        Charge charge = new Charge(budget, tallies, estimate, chat.promptTokens() + completion);
        String id = "chatcmpl-sim-" + ids.incrementAndGet();
        long created = simulator.clock.instant().getEpochSecond();
        Runnable answer = chat.stream()
            ? () -> new EventStream(response, callback, charge,
                Answers.stream(id, created, model.name(), chat.promptTokens(), completion, finish, simulator.streamChunks), decision.headers()).start()
            : () ->
            {
                charge.settle();
                send(response, callback, 200, "application/json", decision.headers(),
                    Answers.completion(id, created, model.name(), chat.promptTokens(), completion, finish));
            };
        later(simulator.latency.toNanos(), answer);
    }

    private void later(long nanos, Runnable task)
    {
        if (nanos <= 0)
            task.run();
        else
            pacer.schedule(task, nanos, TimeUnit.NANOSECONDS); // close() stops the server before the pacer
    }

    private static void refuse(Response response, Callback callback, List<Counts.Tally> tallies, int status, String code, String body)
    {
        tallies.forEach(Counts.Tally::call);
        tallies.forEach(t -> t.refused(status, code));
        send(response, callback, status, "application/json", Map.of(), body);
    }

    static void send(Response response, Callback callback, int status, String contentType, Map<String, String> headers, String body)
    {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        response.setStatus(status);
        headers.forEach((name, value) -> response.getHeaders().put(name, value));
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, contentType);
        response.getHeaders().put(HttpHeader.CONTENT_LENGTH, bytes.length);
        response.write(true, ByteBuffer.wrap(bytes), callback);
    }

    /**
     * An admitted request's charge: once, when its answer is complete (before its last
     * bytes are written, so a client that has the answer sees the budget settled) or when
     * its client left first (the work was done all the same).
     */
    private final class Charge
    {
        private final Budget budget;
        private final List<Counts.Tally> tallies;
        private final long reserved;
        private final long used;
        private final AtomicBoolean done = new AtomicBoolean();

        Charge(Budget budget, List<Counts.Tally> tallies, long reserved, long used)
        {
            this.budget = budget;
            this.tallies = tallies;
            this.reserved = reserved;
            this.used = used;
        }

        void settle()
        {
            if (!done.compareAndSet(false, true))
                return;
            budget.settle(reserved, used, simulator.time.now());
            tallies.forEach(t -> t.answered(used));
        }
    }

    /** One streamed answer: writes an event, and once it is written waits the event delay and writes the next. */
    private final class EventStream
    {
        private final Response response;
        private final Callback done;
        private final Charge charge;
        private final List<String> events;
        private final Map<String, String> headers;

        EventStream(Response response, Callback done, Charge charge, List<String> events, Map<String, String> headers)
        {
            this.response = response;
            this.done = done;
            this.charge = charge;
            this.events = events;
            this.headers = headers;
        }

        void start()
        {
            response.setStatus(200);
            headers.forEach((name, value) -> response.getHeaders().put(name, value));
            response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/event-stream");
            response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-cache");
            write(0);
        }

        private void write(int index)
        {
            // The event with usage is the answer's end: the work is done, charge it.
            if (index == events.size() - 2)
                charge.settle();
            boolean last = index == events.size() - 1;
            ByteBuffer event = ByteBuffer.wrap(events.get(index).getBytes(StandardCharsets.UTF_8));
            response.write(last, event, last ? Callback.from(done::succeeded, this::failed) : Callback.from(
                () -> later(simulator.eventDelay.toNanos(), () -> write(index + 1)), this::failed));
        }

        private void failed(Throwable failure)
        {
            charge.settle();
            done.failed(failure);
        }
    }
}
