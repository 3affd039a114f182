package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// bar is one bar of a chart: a label under it and its value.
type bar struct {
	label string
	value float64
}

// plotBars draws a bar chart with gonum/plot into path, as SVG or PNG by
// its extension (the README's charts are made this way, by
// scripts/plots.sh).
func plotBars(path, title, ylabel string, bars []bar) error {
	if err := checkPlotFile(path); err != nil {
		return err
	}
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = ylabel
	values := make(plotter.Values, len(bars))
	names := make([]string, len(bars))
	for i, b := range bars {
		values[i], names[i] = b.value, b.label
	}
	chart, err := plotter.NewBarChart(values, vg.Points(18))
	if err != nil {
		return err
	}
	chart.LineStyle.Width = vg.Length(0)
	p.Add(chart)
	p.NominalX(names...)
	p.X.Tick.Label.Rotation = 0.9 // radians: long labels slant
	p.X.Tick.Label.XAlign = -1    // start at the tick, so they slant away from the axis
	width := vg.Points(float64(max(320, 34*len(bars))))
	return p.Save(width, 4*vg.Inch, path)
}

func checkPlotFile(path string) error {
	ext := strings.ToLower(filepath.Ext(path))
	if ext != ".svg" && ext != ".png" {
		return fmt.Errorf("--plot %s: the chart is written as .svg or .png", path)
	}
	return nil
}

// plotGroupedBars draws groups of bars side by side, one bar per series in
// each group (values[series][group]), with a legend naming the series.
func plotGroupedBars(path, title, ylabel string, groups, series []string, values [][]float64) error {
	if err := checkPlotFile(path); err != nil {
		return err
	}
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = ylabel
	width := vg.Points(18)
	for i, name := range series {
		chart, err := plotter.NewBarChart(plotter.Values(values[i]), width)
		if err != nil {
			return err
		}
		chart.LineStyle.Width = vg.Length(0)
		chart.Color = plotutil.Color(i)
		chart.Offset = vg.Length(float64(i)-float64(len(series)-1)/2) * width
		p.Add(chart)
		p.Legend.Add(name, chart)
	}
	p.Legend.Top = true
	p.Y.Min = 0
	p.Y.Max *= 1.2 // room for the legend above the bars
	p.NominalX(groups...)
	return p.Save(vg.Points(float64(max(360, 40*len(groups)*(len(series)+1)))), 4*vg.Inch, path)
}
