package io.otelml.gelfharness;

import com.codahale.metrics.Counter;
import com.codahale.metrics.MetricRegistry;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.lang.reflect.Constructor;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.zip.GZIPInputStream;
import java.util.zip.InflaterInputStream;
import org.graylog2.inputs.codecs.GelfChunkAggregator;
import org.graylog2.inputs.codecs.GelfCodec;
import org.graylog2.inputs.codecs.gelf.GELFBulkDroppedMsgService;
import org.graylog2.inputs.codecs.gelf.GELFMessage;
import org.graylog2.inputs.diagnosis.InputDiagnosisMetrics;
import org.graylog2.plugin.Message;
import org.graylog2.plugin.MessageFactory;
import org.graylog2.plugin.configuration.Configuration;
import org.graylog2.plugin.inputs.codecs.CodecAggregator;
import org.graylog2.plugin.journal.RawMessage;
import org.joda.time.DateTime;

/**
 * A GELF receiver that decodes with Graylog's own classes, for use as a test peer.
 *
 * <p>Each UDP datagram, NUL-terminated TCP frame or HTTP POST body is handed to Graylog's
 * {@link GelfChunkAggregator} (exactly as Graylog's inputs do through their codec aggregator
 * handler) and every complete payload to {@link GelfCodec#decodeSafe(RawMessage)}, which detects
 * zlib/gzip compression, parses and validates the GELF JSON and builds a Graylog {@link Message}.
 *
 * <p>Output protocol (one JSON object per line):
 *
 * <ul>
 *   <li>stdout: one line per decoded message: {@code transport}, {@code remote}, {@code chunked},
 *       {@code chunk_count}, {@code compression}, {@code payload_bytes}, {@code gelf} (the payload
 *       JSON as Graylog's {@code GELFMessage.getJSON} inflated it) and {@code graylog} (the decoded
 *       Message: id, source, message, timestamp, timestamp_ms, fields).
 *   <li>stderr: {@code {"event":"ready",...ports}} once all listeners are bound, {@code
 *       {"event":"error",...}} for every rejected chunk/frame/payload, {@code {"event":"stats"}} at
 *       exit; other stderr lines are Graylog's own log output (slf4j-simple).
 * </ul>
 *
 * <p>Usage: {@code GraylogGelfHarness [--bind 127.0.0.1] [--udp PORT] [--tcp PORT] [--http PORT]
 * [--decompress-size-limit BYTES] [--tcp-max-frame BYTES]}; PORT 0 binds an ephemeral port (the
 * ready line reports it); an omitted transport is not started.
 */
public final class GraylogGelfHarness {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  /** Graylog's default max_message_size for its TCP inputs (2 MiB). */
  private static final int DEFAULT_TCP_MAX_FRAME = 2 * 1024 * 1024;

  private final PrintStream out;
  private final PrintStream err;
  private final MetricRegistry metrics = new MetricRegistry();
  private final CodecAggregator aggregator;
  private final GelfCodec codec;
  private final long decompressSizeLimit;

  private GraylogGelfHarness(long decompressSizeLimit) throws ReflectiveOperationException {
    this.out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
    this.err = new PrintStream(System.err, true, StandardCharsets.UTF_8);
    this.decompressSizeLimit = decompressSizeLimit;
    ScheduledExecutorService evictionScheduler =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "gelf-chunk-eviction");
              t.setDaemon(true);
              return t;
            });
    GelfChunkAggregator chunkAggregator = new GelfChunkAggregator(evictionScheduler, metrics);
    Map<String, Object> codecConfig = new LinkedHashMap<>();
    codecConfig.put("decompress_size_limit", (int) decompressSizeLimit);
    this.codec =
        new GelfCodec(
            new Configuration(codecConfig),
            chunkAggregator,
            defaultMessageFactory(),
            new GELFBulkDroppedMsgService(new InputDiagnosisMetrics(metrics)));
    this.aggregator = codec.getAggregator();
  }

  /** Graylog's DefaultMessageFactory is package-private (normally bound by Guice). */
  private static MessageFactory defaultMessageFactory() throws ReflectiveOperationException {
    Class<?> cls = Class.forName("org.graylog2.plugin.DefaultMessageFactory");
    Constructor<?> ctor = cls.getDeclaredConstructor();
    ctor.setAccessible(true);
    return (MessageFactory) ctor.newInstance();
  }

  public static void main(String[] args) throws Exception {
    String bind = "127.0.0.1";
    Integer udp = null;
    Integer tcp = null;
    Integer http = null;
    long decompressLimit = GelfCodec.DEFAULT_DECOMPRESS_SIZE_LIMIT;
    int tcpMaxFrame = DEFAULT_TCP_MAX_FRAME;
    for (int i = 0; i < args.length; i++) {
      String value = i + 1 < args.length ? args[i + 1] : null;
      switch (args[i]) {
        case "--bind" -> bind = value;
        case "--udp" -> udp = Integer.parseInt(value);
        case "--tcp" -> tcp = Integer.parseInt(value);
        case "--http" -> http = Integer.parseInt(value);
        case "--decompress-size-limit" -> decompressLimit = Long.parseLong(value);
        case "--tcp-max-frame" -> tcpMaxFrame = Integer.parseInt(value);
        default -> {
          System.err.println("unknown argument: " + args[i]);
          System.exit(2);
        }
      }
      i++;
    }
    if (udp == null && tcp == null && http == null) {
      System.err.println("nothing to do: give at least one of --udp/--tcp/--http");
      System.exit(2);
    }
    GraylogGelfHarness harness = new GraylogGelfHarness(decompressLimit);
    InetAddress address = InetAddress.getByName(bind);
    ObjectNode ready = MAPPER.createObjectNode().put("event", "ready");
    ready.put("graylog_version", graylogVersion());
    if (udp != null) {
      DatagramSocket socket = new DatagramSocket(null);
      socket.setReuseAddress(true);
      socket.setReceiveBufferSize(16 * 1024 * 1024);
      socket.bind(new InetSocketAddress(address, udp));
      ready.put("udp_port", socket.getLocalPort());
      startDaemon("gelf-udp", () -> harness.serveUdp(socket));
    }
    if (tcp != null) {
      ServerSocket server = new ServerSocket();
      server.setReuseAddress(true);
      server.bind(new InetSocketAddress(address, tcp));
      ready.put("tcp_port", server.getLocalPort());
      final int maxFrame = tcpMaxFrame;
      startDaemon("gelf-tcp-accept", () -> harness.serveTcp(server, maxFrame));
    }
    if (http != null) {
      HttpServer server = HttpServer.create(new InetSocketAddress(address, http), 64);
      server.createContext("/gelf", harness::serveHttp);
      server.setExecutor(Executors.newFixedThreadPool(2));
      server.start();
      ready.put("http_port", server.getAddress().getPort());
    }
    Runtime.getRuntime().addShutdownHook(new Thread(harness::emitStats, "stats"));
    harness.emitErr(ready);
    Thread.currentThread().join();
  }

  /** The graylog2-server version on the classpath, from the jar's Maven metadata. */
  private static String graylogVersion() {
    try (InputStream in =
        GelfCodec.class.getResourceAsStream("/META-INF/maven/org.graylog2/graylog2-server/pom.properties")) {
      if (in == null) {
        return null;
      }
      java.util.Properties props = new java.util.Properties();
      props.load(in);
      return props.getProperty("version");
    } catch (IOException e) {
      return null;
    }
  }

  private static void startDaemon(String name, ThrowingRunnable body) {
    Thread t =
        new Thread(
            () -> {
              try {
                body.run();
              } catch (Exception e) {
                System.err.println("listener " + name + " died: " + e);
              }
            },
            name);
    t.setDaemon(true);
    t.start();
  }

  @FunctionalInterface
  private interface ThrowingRunnable {
    void run() throws Exception;
  }

  private void serveUdp(DatagramSocket socket) throws IOException {
    byte[] buffer = new byte[65536];
    while (true) {
      DatagramPacket packet = new DatagramPacket(buffer, buffer.length);
      socket.receive(packet);
      byte[] data = new byte[packet.getLength()];
      System.arraycopy(packet.getData(), packet.getOffset(), data, 0, packet.getLength());
      handle("udp", data, (InetSocketAddress) packet.getSocketAddress());
    }
  }

  private void serveTcp(ServerSocket server, int maxFrame) throws IOException {
    while (true) {
      Socket socket = server.accept();
      startDaemon("gelf-tcp-conn", () -> readNulFramed(socket, maxFrame));
    }
  }

  /** NUL-delimited framing as Graylog's GELF TCP input configures it (delimiter stripped). */
  private void readNulFramed(Socket socket, int maxFrame) throws IOException {
    InetSocketAddress remote = (InetSocketAddress) socket.getRemoteSocketAddress();
    ByteArrayOutputStream frame = new ByteArrayOutputStream();
    boolean discarding = false;
    try (socket;
        InputStream in = socket.getInputStream()) {
      byte[] buffer = new byte[65536];
      int n;
      while ((n = in.read(buffer)) != -1) {
        int start = 0;
        for (int i = 0; i < n; i++) {
          if (buffer[i] != 0) {
            continue;
          }
          if (!discarding) {
            frame.write(buffer, start, i - start);
          }
          if (!discarding && frame.size() > 0) {
            handle("tcp", frame.toByteArray(), remote);
          }
          frame.reset();
          discarding = false;
          start = i + 1;
        }
        if (!discarding) {
          frame.write(buffer, start, n - start);
          if (frame.size() > maxFrame) {
            error("tcp", remote, "frame longer than " + maxFrame + " bytes, discarding until next NUL", null);
            frame.reset();
            discarding = true;
          }
        }
      }
    }
    if (frame.size() > 0) {
      error("tcp", remote, "connection closed with " + frame.size() + " bytes not NUL-terminated", frame.toByteArray());
    }
  }

  private void serveHttp(HttpExchange exchange) throws IOException {
    try (exchange) {
      if (!"POST".equals(exchange.getRequestMethod())) {
        exchange.sendResponseHeaders(405, -1);
        return;
      }
      byte[] body = exchange.getRequestBody().readAllBytes();
      String encoding = exchange.getRequestHeaders().getFirst("Content-Encoding");
      if (encoding != null) {
        String e = encoding.trim().toLowerCase(Locale.ROOT);
        if (e.equals("gzip")) {
          body = new GZIPInputStream(new ByteArrayInputStream(body)).readAllBytes();
        } else if (e.equals("deflate")) {
          body = new InflaterInputStream(new ByteArrayInputStream(body)).readAllBytes();
        }
      }
      boolean ok = handle("http", body, exchange.getRemoteAddress());
      exchange.sendResponseHeaders(ok ? 202 : 400, -1);
    }
  }

  /** Runs one datagram/frame/body through Graylog's aggregator and codec; true unless rejected. */
  private boolean handle(String transport, byte[] data, InetSocketAddress remote) {
    boolean chunked = data.length >= 2 && data[0] == 0x1e && data[1] == 0x0f;
    CodecAggregator.Result result;
    try {
      result = aggregator.addChunk(Unpooled.wrappedBuffer(data));
    } catch (RuntimeException e) {
      error(transport, remote, "aggregator threw: " + e, data);
      return false;
    }
    if (!result.isValid()) {
      error(transport, remote, chunked ? "GelfChunkAggregator rejected chunk" : "GelfChunkAggregator rejected payload", data);
      return false;
    }
    ByteBuf complete = result.getMessage();
    if (complete == null) {
      return true; // a chunk was stored; waiting for the rest
    }
    byte[] payload = ByteBufUtil.getBytes(complete);
    complete.release();
    ObjectNode line = MAPPER.createObjectNode();
    line.put("transport", transport);
    line.put("remote", remote.getAddress().getHostAddress() + ":" + remote.getPort());
    line.put("chunked", chunked);
    line.put("chunk_count", chunked && data.length > 11 ? Byte.toUnsignedInt(data[11]) : 0);
    if (chunked) {
      line.put("chunk_id", HexFormat.of().formatHex(data, 2, 10));
    }
    GELFMessage gelfMessage = new GELFMessage(payload);
    line.put("compression", gelfMessage.getGELFType().name().toLowerCase(Locale.ROOT));
    line.put("payload_bytes", payload.length);
    line.put("received_at_ms", System.currentTimeMillis());
    try {
      String json = gelfMessage.getJSON(decompressSizeLimit, StandardCharsets.UTF_8);
      line.set("gelf", MAPPER.readTree(json));
    } catch (Exception e) {
      line.put("gelf_error", e.toString());
    }
    Optional<Message> decoded;
    try {
      decoded = codec.decodeSafe(new RawMessage(payload, remote));
    } catch (Exception e) {
      line.put("event", "error");
      line.put("error", "GelfCodec.decodeSafe threw: " + e);
      emitErr(line);
      return false;
    }
    if (decoded.isEmpty()) {
      line.put("event", "error");
      line.put("error", "GelfCodec.decodeSafe returned no message");
      emitErr(line);
      return false;
    }
    Message message = decoded.get();
    ObjectNode graylog = line.putObject("graylog");
    graylog.put("id", message.getId());
    graylog.put("source", message.getSource());
    graylog.put("message", message.getMessage());
    DateTime ts = message.getTimestamp();
    graylog.put("timestamp", ts == null ? null : ts.toString());
    if (ts != null) {
      graylog.put("timestamp_ms", ts.getMillis());
    }
    graylog.set("fields", MAPPER.valueToTree(plain(message.getFields())));
    emit(out, line);
    return true;
  }

  private static Object plain(Object value) {
    if (value instanceof DateTime dt) {
      return dt.toString();
    }
    if (value instanceof Map<?, ?> map) {
      Map<String, Object> copy = new LinkedHashMap<>();
      map.forEach((k, v) -> copy.put(String.valueOf(k), plain(v)));
      return copy;
    }
    if (value instanceof List<?> list) {
      List<Object> copy = new ArrayList<>();
      list.forEach(v -> copy.add(plain(v)));
      return copy;
    }
    if (value == null || value instanceof Number || value instanceof Boolean || value instanceof String) {
      return value;
    }
    return String.valueOf(value);
  }

  private void error(String transport, InetSocketAddress remote, String reason, byte[] data) {
    ObjectNode line = MAPPER.createObjectNode().put("event", "error").put("transport", transport);
    line.put("remote", remote == null ? null : remote.getAddress().getHostAddress() + ":" + remote.getPort());
    line.put("error", reason);
    if (data != null) {
      line.put("bytes", data.length);
      line.put("head_hex", HexFormat.of().formatHex(data, 0, Math.min(16, data.length)));
    }
    line.set("aggregator", counters());
    emitErr(line);
  }

  private JsonNode counters() {
    ObjectNode node = MAPPER.createObjectNode();
    for (Map.Entry<String, Counter> e : metrics.getCounters().entrySet()) {
      node.put(e.getKey(), e.getValue().getCount());
    }
    return node;
  }

  private void emitStats() {
    ObjectNode line = MAPPER.createObjectNode().put("event", "stats");
    line.set("counters", counters());
    emitErr(line);
  }

  private void emitErr(ObjectNode line) {
    emit(err, line);
  }

  private static void emit(PrintStream stream, JsonNode line) {
    String text;
    try {
      text = MAPPER.writeValueAsString(line);
    } catch (IOException e) {
      text = "{\"event\":\"error\",\"error\":\"cannot serialise output\"}";
    }
    synchronized (GraylogGelfHarness.class) {
      stream.println(text);
      stream.flush();
    }
  }
}
