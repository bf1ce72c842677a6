// The broker's request counters, read over JMX: for each request type
// (kafka.network:type=RequestMetrics,name=RequestsPerSec,request=<type>, summed over
// versions) one line "<type> <count>", in the order the broker lists them.
// Usage: java benchmarks/broker_requests.java <broker pid>
// Attaches to the broker's JVM (same user) and starts its local management agent, so a
// broker started without JMX options is read as well. Used by hookpipe-delivery-bench.
import com.sun.tools.attach.VirtualMachine;
import java.util.Map;
import java.util.TreeMap;
import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;

public class broker_requests {
  public static void main(String[] args) throws Exception {
    if (args.length != 1) {
      System.err.println("usage: java broker_requests.java <broker pid>");
      System.exit(2);
    }
    VirtualMachine vm = VirtualMachine.attach(args[0]);
    String address;
    try {
      address = vm.startLocalManagementAgent();
    } finally {
      vm.detach();
    }
    Map<String, Long> counts = new TreeMap<>();
    try (JMXConnector connector = JMXConnectorFactory.connect(new JMXServiceURL(address))) {
      MBeanServerConnection server = connector.getMBeanServerConnection();
      ObjectName pattern =
          new ObjectName("kafka.network:type=RequestMetrics,name=RequestsPerSec,*");
      for (ObjectName name : server.queryNames(pattern, null)) {
        long count = ((Number) server.getAttribute(name, "Count")).longValue();
        counts.merge(name.getKeyProperty("request"), count, Long::sum);
      }
    }
    counts.forEach((type, count) -> System.out.println(type + " " + count));
  }
}
