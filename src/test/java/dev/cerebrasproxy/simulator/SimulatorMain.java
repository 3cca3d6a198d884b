package dev.cerebrasproxy.simulator;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The simulator as its own process, for the capacity benchmark:
 * {@code SimulatorMain --config settings.json [--host 127.0.0.1] [--port 0] [--scale 6]}.
 * {@code --scale} overrides the settings' {@code time_scale}. Prints one line with its
 * base URL when it listens, then serves until stopped, printing each quota 429 with what
 * its budget held (the record of where a proxy's wasted calls came from).
 */
public final class SimulatorMain
{
    private SimulatorMain()
    {
    }

    public static void main(String[] args) throws Exception
    {
        String config = null;
        String host = "127.0.0.1";
        int port = 0;
        Double scale = null;
        for (int i = 0; i < args.length; i++)
        {
            String value = i + 1 < args.length ? args[i + 1] : null;
            switch (args[i])
            {
                case "--config" -> config = value;
                case "--host" -> host = value;
                case "--port" -> port = Integer.parseInt(value);
                case "--scale" -> scale = Double.valueOf(value);
                default -> usage("unknown argument " + args[i]);
            }
            if (value == null)
                usage(args[i] + " needs a value");
            i++;
        }
        if (config == null)
            usage("--config is required");
        String json = Files.readString(Path.of(config));
        CerebrasSimulator.Builder builder;
        try
        {
            builder = SimulatorConfig.parse(json).host(host).port(port).logRefusals(true);
            if (scale != null)
                builder.timeScale(scale);
        }
        catch (IllegalArgumentException e)
        {
            usage(config + ": " + e.getMessage());
            return;
        }
        CerebrasSimulator simulator = builder.build();
        SimulatorConfig.applyFaults(json, simulator);
        simulator.start();
        Runtime.getRuntime().addShutdownHook(new Thread(() ->
        {
            try
            {
                simulator.close();
            }
            catch (Exception ignored)
            {
                // the process is ending either way
            }
        }));
        System.out.println("cerebras-simulator listening on " + simulator.baseUrl() + " (time scale " + simulator.timeScale() + ")");
        Thread.currentThread().join();
    }

    private static void usage(String problem)
    {
        System.err.println("cerebras-simulator: " + problem + ". Usage: SimulatorMain --config settings.json [--host 127.0.0.1] [--port 0] [--scale 6]");
        System.exit(2);
    }
}
