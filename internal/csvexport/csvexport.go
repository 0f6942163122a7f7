// Package csvexport writes the CSV files users open in spreadsheets. Titles,
// messages and names come from Azure DevOps as anyone typed them; a cell
// that starts with =, +, -, @, a tab or a carriage return runs as a formula
// in Excel, LibreOffice and Google Sheets (CSV injection, OWASP). Every
// export goes through Writer, which neutralizes such cells the way OWASP
// recommends: a leading single quote, so the cell reads as text.
package csvexport

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"
)

// Writer is a csv.Writer whose cells are neutralized.
type Writer struct{ w *csv.Writer }

// NewWriter returns a Writer to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: csv.NewWriter(w)} }

// Write writes one record.
func (w *Writer) Write(record []string) error {
	safe := make([]string, len(record))
	for i, c := range record {
		safe[i] = Neutralize(c)
	}
	return w.w.Write(safe)
}

// WriteAll writes records and flushes.
func (w *Writer) WriteAll(records [][]string) error {
	for _, r := range records {
		if err := w.Write(r); err != nil {
			return err
		}
	}
	w.w.Flush()
	return w.w.Error()
}

// Flush writes buffered data.
func (w *Writer) Flush() { w.w.Flush() }

// Error reports an error of an earlier Write or Flush.
func (w *Writer) Error() error { return w.w.Error() }

// Neutralize returns a cell a spreadsheet shows as text: one that starts
// with a formula trigger gets a leading single quote. Numbers stay numbers
// ("-5", "+1.5e3"): a figure's negative value is not a formula.
func Neutralize(cell string) string {
	if cell == "" || !strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
		return cell
	}
	if _, err := strconv.ParseFloat(cell, 64); err == nil {
		return cell
	}
	return "'" + cell
}
