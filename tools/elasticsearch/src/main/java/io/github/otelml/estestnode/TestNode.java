/*
 * Starts one real Elasticsearch node in this JVM, for integration tests only.
 *
 * Elastic publishes the server jar (org.elasticsearch:elasticsearch) and the HTTP transport module
 * (org.elasticsearch.plugin:transport-netty4) on Maven Central, but not the distribution tarball.
 * This launcher does what bin/elasticsearch would do for a minimal single-node cluster: it lays out
 * a home directory (config/, modules/transport-netty4/, plugins/, data/, logs/), configures logging
 * to the console and starts org.elasticsearch.node.Node. Only the netty4 module is loaded: no x-pack
 * (no security, ILM, built-in logs-* templates), no ingest-common, no data-streams REST APIs; writes
 * into data streams (auto-created from an index template with "data_stream": {}) are handled by the
 * server itself.
 *
 * Usage: java -Xmx1g -cp <lib>/* io.github.otelml.estestnode.TestNode \
 *            --home DIR --http-port N [--transport-port N] --netty-module-dir DIR \
 *            [--node-name NAME --seed-hosts 127.0.0.1:T1,127.0.0.1:T2 --initial-master-nodes N1,N2]
 * Without --seed-hosts the node is a single-node cluster; with it, the nodes of the list find each
 * other over their transport ports on loopback and form one cluster (every node master-eligible).
 * Prints "ES_TEST_NODE_STARTED http://127.0.0.1:N" on stdout once the node accepts requests and
 * closes the node cleanly on SIGTERM/SIGINT.
 */
package io.github.otelml.estestnode;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.elasticsearch.Build;
import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.node.InternalSettingsPreparer;
import org.elasticsearch.node.Node;
import org.elasticsearch.plugins.PluginsLoader;

public final class TestNode {

    private TestNode() {}

    public static void main(String[] argv) throws Exception {
        Map<String, String> args = parseArgs(argv);
        Path home = Path.of(require(args, "--home")).toAbsolutePath();
        String httpPort = require(args, "--http-port");
        String transportPort = args.getOrDefault("--transport-port", "0");
        String nodeName = args.getOrDefault("--node-name", "es-test-node");
        String seedHosts = args.get("--seed-hosts");
        Path nettyJars = Path.of(require(args, "--netty-module-dir")).toAbsolutePath();

        Path config = Files.createDirectories(home.resolve("config"));
        Path modules = Files.createDirectories(home.resolve("modules"));
        Files.createDirectories(home.resolve("plugins"));
        Path data = Files.createDirectories(home.resolve("data"));
        Path logs = Files.createDirectories(home.resolve("logs"));
        installNettyModule(nettyJars, modules.resolve("transport-netty4"));

        Settings.Builder builder = Settings.builder()
            .put("path.home", home.toString())
            .put("path.data", data.toString())
            .put("path.logs", logs.toString())
            .put("cluster.name", "otel-ml-logging-test")
            .put("node.name", nodeName)
            .put("network.host", "127.0.0.1")
            .put("http.port", httpPort)
            .put("transport.port", transportPort)
            // Test machines run with little free disk; never flip indices to read-only.
            .put("cluster.routing.allocation.disk.threshold_enabled", false);
        if (seedHosts == null) {
            builder.put("discovery.type", "single-node");
        } else {
            builder.putList("discovery.seed_hosts", seedHosts.split(","));
            builder.putList("cluster.initial_master_nodes", require(args, "--initial-master-nodes").split(","));
        }
        Settings settings = builder.build();

        LogConfigurator.registerErrorListener();
        LogConfigurator.configureESLogging();
        LogConfigurator.configureWithoutConfig(settings);

        Environment env = InternalSettingsPreparer.prepareEnvironment(settings, Map.of(), config, () -> nodeName);
        PluginsLoader plugins = PluginsLoader.createPluginsLoader(
            PluginsLoader.loadModulesBundles(env.modulesDir()), PluginsLoader.loadPluginsBundles(env.pluginsDir()), Map.of());
        Node node = new Node(env, plugins);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
                node.awaitClose(30, TimeUnit.SECONDS);
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                stopped.countDown();
            }
        }, "es-test-node-shutdown"));
        node.start();
        System.out.println("ES_TEST_NODE_STARTED http://127.0.0.1:" + httpPort + " version=" + Build.current().version());
        System.out.flush();
        stopped.await();
    }

    /** Copies the netty4 module jars and writes the descriptor the distribution would ship. */
    private static void installNettyModule(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (DirectoryStream<Path> jars = Files.newDirectoryStream(from, "*.jar")) {
            for (Path jar : jars) {
                Files.copy(jar, to.resolve(jar.getFileName()), StandardCopyOption.REPLACE_EXISTING);
            }
        }
        String descriptor = String.join("\n",
            "description=Netty 4 based transport implementation",
            "version=" + Build.current().version(),
            "name=transport-netty4",
            "classname=org.elasticsearch.transport.netty4.Netty4Plugin",
            "java.version=17",
            "elasticsearch.version=" + Build.current().version(),
            "extended.plugins=",
            "has.native.controller=false",
            "");
        Files.writeString(to.resolve("plugin-descriptor.properties"), descriptor);
    }

    private static Map<String, String> parseArgs(String[] argv) {
        Map<String, String> out = new HashMap<>();
        for (int i = 0; i + 1 < argv.length; i += 2) {
            out.put(argv[i], argv[i + 1]);
        }
        return out;
    }

    private static String require(Map<String, String> args, String name) {
        String value = args.get(name);
        if (value == null) {
            throw new IllegalArgumentException("missing " + name);
        }
        return value;
    }
}
