package commerce.iceberg;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.iceberg.CatalogUtil;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.Schema;
import org.apache.iceberg.catalog.Catalog;
import org.apache.iceberg.catalog.Namespace;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.exceptions.AlreadyExistsException;
import org.apache.iceberg.spark.Spark3Util;
import org.apache.iceberg.spark.SparkSchemaUtil;
import org.apache.iceberg.spark.source.SparkTable;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.analysis.NamespaceAlreadyExistsException;
import org.apache.spark.sql.catalyst.analysis.NoSuchNamespaceException;
import org.apache.spark.sql.catalyst.analysis.NoSuchTableException;
import org.apache.spark.sql.catalyst.analysis.TableAlreadyExistsException;
import org.apache.spark.sql.connector.catalog.CatalogV2Util;
import org.apache.spark.sql.connector.catalog.Column;
import org.apache.spark.sql.connector.catalog.Identifier;
import org.apache.spark.sql.connector.catalog.NamespaceChange;
import org.apache.spark.sql.connector.catalog.SupportsNamespaces;
import org.apache.spark.sql.connector.catalog.Table;
import org.apache.spark.sql.connector.catalog.TableCatalog;
import org.apache.spark.sql.connector.catalog.TableChange;
import org.apache.spark.sql.connector.expressions.Transform;
import org.apache.spark.sql.util.CaseInsensitiveStringMap;

/**
 * The `commerce` Iceberg catalog for Spark 4.2, on Iceberg's Spark 4.1 runtime (1.12.0), the
 * only one published. That runtime's own `SparkCatalog` cannot load in Spark 4.2: it
 * implements `ViewCatalog` and `TableCatalog` (Spark 4.2 wants `RelationCatalog`) and its
 * `SparkView` implements `View`, a class in 4.2. This one is a TableCatalog and namespaces
 * only, over Iceberg's catalog (JDBC by default) and its `SparkTable` reads and writes
 * (`CommerceTable`). No views, ALTER TABLE, row-level DELETE/UPDATE/MERGE or procedures.
 * A table created without LOCATION goes under `<warehouse>/<namespace>/iceberg/<table>`, as
 * the platform's publications. Remove it for `SparkCatalog` once a Spark 4.2 runtime ships
 * (docs/catalog.md, "Spark SQL on the catalog").
 */
public class SparkTableCatalog implements TableCatalog, SupportsNamespaces {
  private String name;
  private Catalog iceberg;
  private org.apache.iceberg.catalog.SupportsNamespaces namespaces;
  private String warehouse;

  @Override
  public void initialize(String catalogName, CaseInsensitiveStringMap options) {
    Map<String, String> props = new HashMap<>(options.asCaseSensitiveMap());
    props.putIfAbsent(CatalogUtil.ICEBERG_CATALOG_TYPE, CatalogUtil.ICEBERG_CATALOG_TYPE_JDBC);
    Configuration conf = SparkSession.active().sessionState().newHadoopConf();
    this.name = catalogName;
    this.warehouse = props.getOrDefault("warehouse", "").replaceAll("/+$", "");
    this.iceberg = CatalogUtil.buildIcebergCatalog(catalogName, props, conf);
    this.namespaces = (org.apache.iceberg.catalog.SupportsNamespaces) iceberg;
  }

  @Override
  public String name() { return name; }

  private static TableIdentifier id(Identifier ident) {
    return TableIdentifier.of(Namespace.of(ident.namespace()), ident.name());
  }

  @Override
  public Identifier[] listTables(String[] namespace) throws NoSuchNamespaceException {
    try {
      return iceberg.listTables(Namespace.of(namespace)).stream()
          .map(t -> Identifier.of(t.namespace().levels(), t.name())).toArray(Identifier[]::new);
    } catch (org.apache.iceberg.exceptions.NoSuchNamespaceException e) {
      throw new NoSuchNamespaceException(namespace);
    }
  }

  @Override
  public Table loadTable(Identifier ident) throws NoSuchTableException {
    try {
      return new CommerceTable(new SparkTable(iceberg.loadTable(id(ident))));
    } catch (org.apache.iceberg.exceptions.NoSuchTableException e) {
      throw new NoSuchTableException(ident);
    }
  }

  @Override
  public Table createTable(Identifier ident, Column[] columns, Transform[] partitions,
      Map<String, String> properties) throws TableAlreadyExistsException {
    Schema schema = SparkSchemaUtil.convert(CatalogV2Util.v2ColumnsToStructType(columns));
    PartitionSpec spec = Spark3Util.toPartitionSpec(schema, partitions);
    Map<String, String> props = new HashMap<>(properties);
    String location = props.remove(TableCatalog.PROP_LOCATION);
    if (location == null) {
      location = warehouse + "/" + String.join("/", ident.namespace()) + "/iceberg/" + ident.name();
    }
    for (String reserved : Arrays.asList(TableCatalog.PROP_PROVIDER, TableCatalog.PROP_OWNER,
        TableCatalog.PROP_EXTERNAL, TableCatalog.PROP_IS_MANAGED_LOCATION)) {
      props.remove(reserved);
    }
    try {
      return new CommerceTable(new SparkTable(iceberg.buildTable(id(ident), schema).withPartitionSpec(spec)
          .withLocation(location).withProperties(props).create()));
    } catch (AlreadyExistsException e) {
      throw new TableAlreadyExistsException(ident);
    }
  }

  @Override
  public Table alterTable(Identifier ident, TableChange... changes) {
    throw new UnsupportedOperationException("ALTER TABLE on the commerce catalog: use PyIceberg");
  }

  @Override
  public boolean dropTable(Identifier ident) { return iceberg.dropTable(id(ident), false); }

  @Override
  public void renameTable(Identifier from, Identifier to) { iceberg.renameTable(id(from), id(to)); }

  @Override
  public String[][] listNamespaces() {
    return namespaces.listNamespaces().stream().map(Namespace::levels).toArray(String[][]::new);
  }

  @Override
  public String[][] listNamespaces(String[] namespace) throws NoSuchNamespaceException {
    try {
      return namespaces.listNamespaces(Namespace.of(namespace)).stream().map(Namespace::levels)
          .toArray(String[][]::new);
    } catch (org.apache.iceberg.exceptions.NoSuchNamespaceException e) {
      throw new NoSuchNamespaceException(namespace);
    }
  }

  @Override
  public Map<String, String> loadNamespaceMetadata(String[] namespace)
      throws NoSuchNamespaceException {
    try {
      return namespaces.loadNamespaceMetadata(Namespace.of(namespace));
    } catch (org.apache.iceberg.exceptions.NoSuchNamespaceException e) {
      throw new NoSuchNamespaceException(namespace);
    }
  }

  @Override
  public void createNamespace(String[] namespace, Map<String, String> metadata)
      throws NamespaceAlreadyExistsException {
    try {
      Map<String, String> props = new HashMap<>(metadata);
      props.remove(SupportsNamespaces.PROP_OWNER);
      namespaces.createNamespace(Namespace.of(namespace), props);
    } catch (AlreadyExistsException e) {
      throw new NamespaceAlreadyExistsException(namespace);
    }
  }

  @Override
  public void alterNamespace(String[] namespace, NamespaceChange... changes) {
    throw new UnsupportedOperationException("ALTER NAMESPACE on the commerce catalog");
  }

  @Override
  public boolean dropNamespace(String[] namespace, boolean cascade) {
    return namespaces.dropNamespace(Namespace.of(namespace));
  }
}
