package dev.herald.bench;

import org.HdrHistogram.Histogram;
import org.HdrHistogram.HistogramIterationValue;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.awt.Color;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Collects the run's markdown and writes RESULTS.md (appended) and the latency CDF. */
final class Report {
    private final StringBuilder md = new StringBuilder();

    void line(String s) {
        md.append(s).append('\n');
    }

    void table(String[] header, List<String[]> rows) {
        md.append('|');
        for (String h : header) md.append(' ').append(h).append(" |");
        md.append("\n|");
        for (int i = 0; i < header.length; i++) md.append(i == 0 ? "---|" : "---:|");
        md.append('\n');
        for (String[] r : rows) {
            md.append('|');
            for (String c : r) md.append(' ').append(c).append(" |");
            md.append('\n');
        }
        md.append('\n');
    }

    void appendTo(Path file) throws Exception {
        Files.createDirectories(file.toAbsolutePath().getParent());
        boolean fresh = !Files.exists(file);
        String head = fresh ? "# Herald benchmark results\n\nEach `make bench` run appends a section (newest last). How to read them: bench/README.md.\n\n" : "\n";
        Files.writeString(file, head + md, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }

    /** CDF of latencies (log-scale milliseconds), one series per histogram that has samples. */
    static void plot(Path file, String title, List<Hist> hists) throws Exception {
        XYChart chart = new XYChartBuilder().width(1000).height(620).title(title)
                .xAxisTitle("latency, ms (log scale)").yAxisTitle("share of events delivered within, %").build();
        chart.getStyler().setXAxisLogarithmic(true);
        chart.getStyler().setXAxisLogarithmicDecadeOnly(true);
        chart.getStyler().setYAxisMin(0.0).setYAxisMax(100.0);
        chart.getStyler().setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.InsideNW);
        chart.getStyler().setChartBackgroundColor(Color.WHITE);
        chart.getStyler().setPlotGridLinesVisible(true);
        Color[] colors = {new Color(0xD62728), new Color(0x2CA02C), new Color(0x1F77B4), new Color(0x9467BD), new Color(0xFF7F0E)};
        int k = 0;
        for (Hist h : hists) {
            Histogram c = h.copy();
            if (c.getTotalCount() == 0) continue;
            List<Double> xs = new ArrayList<>(), ys = new ArrayList<>();
            for (HistogramIterationValue v : c.percentiles(20)) {
                double ms = Math.max(0.001, v.getValueIteratedTo() / 1000.0);
                xs.add(ms);
                ys.add(Math.min(100.0, v.getPercentileLevelIteratedTo()));
                if (ys.size() > 2000) break;
            }
            XYSeries s = chart.addSeries(String.format(Locale.ROOT, "%s (p50 %s, p99 %s ms)", h.name, Hist.fmt(h.ms(50)), Hist.fmt(h.ms(99))), xs, ys);
            s.setMarker(SeriesMarkers.NONE);
            s.setLineColor(colors[k++ % colors.length]);
        }
        Files.createDirectories(file.toAbsolutePath().getParent());
        BitmapEncoder.saveBitmap(chart, file.toString(), BitmapEncoder.BitmapFormat.PNG);
    }
}
