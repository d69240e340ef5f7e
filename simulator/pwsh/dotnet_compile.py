"""C# compilation as a Windows PowerShell 5.1 host without a compiler has it.

Windows PowerShell 5.1 compiles C# through CodeDom: `Microsoft.CSharp.CSharpCodeProvider` runs
csc.exe from the .NET Framework folder. A simulated host has no csc.exe, so
`CompileAssemblyFromSource` throws what .NET throws then, System.InvalidOperationException
"Compiler executable file csc.exe cannot be found." (the inner text of Add-Type's own error,
`cmdlets/addtype.py`, proxb/PoshRSJob#23). Ansible's win_* modules reach it through
Ansible.ModuleUtils.AddType.psm1 (`Add-CSharpType`), so they fail with this message.

The objects that lead up to the call are modelled as far as scripts set them up:
CompilerParameters (its settable properties and ReferencedAssemblies), TempFileCollection,
[System.Reflection.Assembly]::GetAssembly(type).Location, [IntPtr]::Size, [Guid]::NewGuid(),
and [Regex] objects with Matches/Match and named groups.
"""

from __future__ import annotations

import re
from typing import Any

from nestlab.simulator.pwsh.dotnet import DotNetType, instance, method_error, register
from nestlab.simulator.pwsh.ops import dotnet_regex
from nestlab.simulator.pwsh.values import ArrayList, DotNet, Hashtable, TypeRef, enumerate_value, to_str

NO_CSC = "Compiler executable file csc.exe cannot be found."
FRAMEWORK = "C:\\Windows\\Microsoft.NET\\Framework64\\v4.0.30319"
GAC = "C:\\Windows\\Microsoft.Net\\assembly\\GAC_MSIL"


def _provider(session: Any, *options: Any) -> DotNet:
    def compile_from(method: str):
        def compile_(parameters: Any, *sources: Any) -> Any:
            raise method_error(method, [parameters, *sources], NO_CSC, "InvalidOperationException")
        return compile_
    return instance("Microsoft.CSharp.CSharpCodeProvider", {"FileExtension": "cs", "LanguageOptions": "None"},
                    {"CompileAssemblyFromSource": compile_from("CompileAssemblyFromSource"),
                     "CompileAssemblyFromFile": compile_from("CompileAssemblyFromFile"),
                     "CompileAssemblyFromDom": compile_from("CompileAssemblyFromDom"), "Dispose": lambda: None})


def _string_collection() -> DotNet:
    items = ArrayList()
    return instance("System.Collections.Specialized.StringCollection", {"Count": 0}, {
        "Add": lambda v: (items.append(to_str(v)), len(items) - 1)[1],
        "AddRange": lambda values: items.extend(to_str(v) for v in enumerate_value(values)
                                                if not isinstance(values, DotNet)) or None,
        "Contains": lambda v: to_str(v) in items, "__items__": lambda: list(items)})


SETTABLE = ("GenerateExecutable", "GenerateInMemory", "TreatWarningsAsErrors", "IncludeDebugInformation", "TempFiles",
            "CompilerOptions", "OutputAssembly", "WarningLevel", "MainClass", "Win32Resource")


def _parameters(session: Any, *assemblies: Any) -> DotNet:
    references = _string_collection()
    for a in assemblies[:1]:
        references.methods["AddRange"](a)
    return DotNet("System.CodeDom.Compiler.CompilerParameters", {
        "GenerateExecutable": False, "GenerateInMemory": False, "TreatWarningsAsErrors": False,
        "IncludeDebugInformation": False, "TempFiles": None, "CompilerOptions": None, "OutputAssembly": "",
        "WarningLevel": -1, "MainClass": None, "Win32Resource": None, "ReferencedAssemblies": references},
        text="System.CodeDom.Compiler.CompilerParameters", settable=frozenset(SETTABLE))


def _temp_files(session: Any, folder: Any = None, keep: Any = False) -> DotNet:
    return DotNet("System.CodeDom.Compiler.TempFileCollection", {"TempDir": to_str(folder), "KeepFiles": bool(keep),
                                                                 "Count": 0}, text="System.CodeDom.Compiler.TempFileCollection")


def _assembly_of(session: Any, type_ref: Any) -> DotNet:
    name = to_str(type_ref.name if isinstance(type_ref, TypeRef) else type_ref)
    smadll = f"{GAC}\\System.Management.Automation\\v4.0_3.0.0.0__31bf3856ad364e35\\System.Management.Automation.dll"
    location = smadll if "management.automation" in name.lower() or name.lower() in ("psobject", "pscustomobject") \
        else f"{FRAMEWORK}\\mscorlib.dll"
    return DotNet("System.Reflection.RuntimeAssembly", {"Location": location, "FullName": location.rsplit("\\", 1)[-1]},
                  text=location)


register(DotNetType("Microsoft.CSharp.CSharpCodeProvider", new=_provider))
register(DotNetType("System.CodeDom.Compiler.CompilerParameters", new=_parameters))
register(DotNetType("System.CodeDom.Compiler.TempFileCollection", new=_temp_files))
register(DotNetType("System.Reflection.Assembly", statics={"getassembly": _assembly_of}))
register(DotNetType("System.IntPtr", properties={"size": lambda s: 8, "zero": lambda s: 0}))  # a 64-bit process


# -- [Guid]::NewGuid(): deterministic per session (a simulated host is reproducible) ---------------------

def _new_guid(session: Any) -> DotNet:
    count = getattr(session, "guids", 0) + 1
    session.guids = count
    text = f"5e1a7c00-0000-4000-8000-{count:012x}"
    return DotNet("System.Guid", {"Guid": text}, {"ToString": lambda *a: text}, text=text)


register(DotNetType("System.Guid", statics={"newguid": _new_guid}))


# -- [Regex] objects -----------------------------------------------------------------------------------

def _match(m: re.Match[str] | None) -> DotNet:
    groups = Hashtable()
    if m is not None:
        groups[0] = _group(m.group(0), m.start())
        for i in range(1, (m.re.groups or 0) + 1):
            groups[i] = _group(m.group(i), m.start(i))
        for name in m.re.groupindex:
            groups[name] = _group(m.group(name), m.start(name))
    return DotNet("System.Text.RegularExpressions.Match", {
        "Success": m is not None, "Value": m.group(0) if m else "", "Index": m.start() if m else 0,
        "Length": len(m.group(0)) if m else 0, "Groups": groups}, text=m.group(0) if m else "")


def _group(value: str | None, at: int) -> DotNet:
    return DotNet("System.Text.RegularExpressions.Group", {"Success": value is not None, "Value": value or "",
                                                           "Index": max(at, 0)}, text=value or "")


def regex(value: Any, options: Any = None) -> DotNet:
    if isinstance(value, DotNet) and value.type_name == "System.Text.RegularExpressions.Regex":
        return value
    pattern = to_str(value)
    flags = re.IGNORECASE if options is not None and "ignorecase" in to_str(options).lower() else 0
    try:
        compiled = re.compile(dotnet_regex(pattern), flags)
    except re.error as error:
        raise method_error(".ctor", [value], f'parsing "{pattern}" - {error}.', "ArgumentException") from None
    return instance("System.Text.RegularExpressions.Regex", {"Options": "None"}, {
        "Matches": lambda text, *a: [_match(m) for m in compiled.finditer(to_str(text))],
        "Match": lambda text, *a: _match(compiled.search(to_str(text))),
        "IsMatch": lambda text, *a: compiled.search(to_str(text)) is not None,
        "Replace": lambda text, repl, *a: compiled.sub(to_str(repl).replace("$", "\\"), to_str(text)),
        "Split": lambda text, *a: compiled.split(to_str(text)), "ToString": lambda: pattern}, text=pattern)


register(DotNetType("System.Text.RegularExpressions.Regex", new=lambda s, p, *o: regex(p, *o), cast=regex))
