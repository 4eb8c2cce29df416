"""Exchange formats for the competency framework.

- :mod:`competencies.exchange.case`: a 1EdTech CASE 1.1 package (CFPackage JSON).
- :mod:`competencies.exchange.moodle_csv`: the CSV file of Moodle 4.5's *Import competency
  framework* tool (``admin/tool/lpimportcsv``).

The native format is the YAML of ``competencies/framework/l2i.yaml``
(:func:`competencies.framework.framework_to_yaml`). Every importer runs the checks of
:func:`competencies.framework.assemble_framework` and reports faults with the file and the line or
JSON path. See ``docs/competency-exchange.md``.
"""
