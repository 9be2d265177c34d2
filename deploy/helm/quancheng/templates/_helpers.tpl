{{/*
The chart's name, shortened to a DNS label.
*/}}
{{- define "quancheng.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The release's full name, the prefix of every resource name. Shortened to 63 characters (DNS
labels); the release name alone when it already contains the chart's name.
*/}}
{{- define "quancheng.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
"<full name>-<suffix>", at most 63 characters: the full name is shortened, never the suffix, so
that two services' resources can never end up with the same name.
Call with (dict "root" $ "suffix" "ingest").
*/}}
{{- define "quancheng.resourceName" -}}
{{- $room := int (sub 62 (len .suffix)) }}
{{- printf "%s-%s" (include "quancheng.fullname" .root | trunc $room | trimSuffix "-") .suffix }}
{{- end }}

{{- define "quancheng.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The services: their key under .Values.services and their name (the component).
*/}}
{{- define "quancheng.components" -}}
accessGateway: access-gateway
catalog: catalog
deviceRegistry: device-registry
ingest: ingest
retention: retention
{{- end }}

{{- define "quancheng.gateway" -}}
access-gateway
{{- end }}

{{/*
Selector labels; with a component, those of that service's pods.
Call with (dict "root" $ "component" "ingest") or (dict "root" $).
*/}}
{{- define "quancheng.selectorLabels" -}}
app.kubernetes.io/name: {{ include "quancheng.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- with .component }}
app.kubernetes.io/component: {{ . }}
{{- end }}
{{- end }}

{{/*
Common labels. Same arguments as quancheng.selectorLabels.
*/}}
{{- define "quancheng.labels" -}}
helm.sh/chart: {{ include "quancheng.chart" .root }}
{{ include "quancheng.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: quancheng
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
{{- end }}

{{- define "quancheng.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "quancheng.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "quancheng.configMapName" -}}
{{- include "quancheng.resourceName" (dict "root" . "suffix" "config") }}
{{- end }}

{{- define "quancheng.secretName" -}}
{{- .Values.existingSecret | default (include "quancheng.resourceName" (dict "root" . "suffix" "credentials")) }}
{{- end }}

{{- define "quancheng.issuerSecretName" -}}
{{- .Values.identity.builtin.existingSecret | default (include "quancheng.resourceName" (dict "root" . "suffix" "issuer-key")) }}
{{- end }}

{{/*
A service's image. Call with (dict "root" $ "service" <its values>).
*/}}
{{- define "quancheng.image" -}}
{{- $tag := .service.image.tag | default .root.Values.image.tag | default .root.Chart.AppVersion }}
{{- $repository := .service.image.repository }}
{{- with .root.Values.image.registry }}
{{- $repository = printf "%s/%s" (trimSuffix "/" .) $repository }}
{{- end }}
{{- printf "%s:%s" $repository $tag }}
{{- end }}

{{/*
The in-cluster URL of a service, for the gateway. Call with (dict "root" $ "suffix" <component>).
*/}}
{{- define "quancheng.serviceUrl" -}}
{{- printf "http://%s:8000" (include "quancheng.resourceName" .) }}
{{- end }}

{{/*
Percent-encoding for the user-info part of a URL (urlquery writes a space as "+").
*/}}
{{- define "quancheng.userinfo" -}}
{{- . | urlquery | replace "+" "%20" }}
{{- end }}

{{/*
A service's PostgreSQL URL. Call with (dict "root" $ "key" <its key under .Values.services>).
*/}}
{{- define "quancheng.databaseUrl" -}}
{{- $pg := .root.Values.postgresql }}
{{- $userinfo := include "quancheng.userinfo" $pg.username }}
{{- if $pg.password }}
{{- $userinfo = printf "%s:%s" $userinfo (include "quancheng.userinfo" $pg.password) }}
{{- end }}
{{- printf "postgresql://%s@%s:%v/%s?sslmode=%s" $userinfo $pg.host $pg.port (index $pg.databases .key) $pg.sslmode }}
{{- end }}

{{/*
The settings variable of a service's database URL, e.g. QUANCHENG_DATABASE__DEVICE_REGISTRY.
*/}}
{{- define "quancheng.databaseEnv" -}}
{{- printf "QUANCHENG_DATABASE__%s" (. | upper | replace "-" "_") }}
{{- end }}
